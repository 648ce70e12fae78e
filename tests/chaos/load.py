"""Steady load from client threads, behaving like real agents and lot gates.

Agents bind and unbind (each write with an ``Idempotency-Key``) and read their bindings; gates
post the simulator's camera reads of their lot in time order (idempotent by event id). A
request that meets a dropped connection, a refused connection or a 503 is sent again, the same
request with the same key, until it gets an answer: exactly what a real client does while the
server is restarting. Every answer a client saw is recorded, for the checks afterwards.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from platebind.simulation.run import event_body
from platebind.simulation.traffic import Read

RETRY_PAUSE = 0.05  # seconds between attempts while the server is away
GIVE_UP_AFTER = 120.0  # a request unanswered this long is reported, not retried forever


@dataclass(frozen=True)
class Answer:
    """A request and the answer its client finally saw."""

    kind: str  # bind | unbind | read | gate
    caller: str  # agent id or lot id
    method: str
    path: str
    key: str | None  # Idempotency-Key
    request: dict[str, Any] | None
    status: int
    raw: bytes
    attempts: int
    replayed: bool

    @property
    def body(self) -> Any:
        return orjson.loads(self.raw) if self.raw else None


@dataclass
class Tally:
    """What the clients did, shared by their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: list[Answer] = field(default_factory=list)
    attempts: int = 0
    transport_errors: int = 0
    unavailable: int = 0  # 503 answers (database away): retried
    server_errors: list[tuple[str, int, bytes]] = field(default_factory=list)  # other 5xx
    unanswered: list[tuple[str, str]] = field(default_factory=list)
    # Set when the run fails: clients stop retrying at once instead of for minutes.
    aborted: threading.Event = field(default_factory=threading.Event)

    def record(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def counts(self) -> dict[str, Any]:
        with self.lock:
            by_kind: Counter[str] = Counter(a.kind for a in self.answers)
            accepted: Counter[str] = Counter(a.kind for a in self.answers if a.status < 300)
            retried = sum(1 for a in self.answers if a.attempts > 1)
            return {
                "sent": len(self.answers) + len(self.unanswered),
                "accepted": sum(accepted.values()),
                "refused": sum(1 for a in self.answers if 400 <= a.status < 500),
                "retried": retried,
                "replayed": sum(1 for a in self.answers if a.replayed),
                "attempts": self.attempts,
                "transport_errors": self.transport_errors,
                "unavailable_503": self.unavailable,
                "server_errors": len(self.server_errors),
                "unanswered": len(self.unanswered),
                "by_kind": {k: {"sent": n, "accepted": accepted[k]} for k, n in by_kind.items()},
            }


class Client:
    """One client's HTTP connection to wherever the server currently listens."""

    def __init__(self, base_url: Callable[[], str], tally: Tally) -> None:
        self.base_url = base_url
        self.tally = tally
        self.http = httpx.Client(timeout=15.0)

    def send(
        self,
        kind: str,
        caller: str,
        token: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Answer | None:
        headers = {"authorization": f"Bearer {token}"}
        if key is not None:
            headers["idempotency-key"] = key
        content = orjson.dumps(body) if body is not None else None
        if content is not None:
            headers["content-type"] = "application/json"
        deadline = time.monotonic() + GIVE_UP_AFTER
        attempts = 0
        while time.monotonic() < deadline and not self.tally.aborted.is_set():
            attempts += 1
            with self.tally.lock:
                self.tally.attempts += 1
            try:
                response = self.http.request(
                    method, self.base_url() + path, content=content, headers=headers
                )
            except httpx.TransportError:
                with self.tally.lock:
                    self.tally.transport_errors += 1
                time.sleep(RETRY_PAUSE)
                continue
            if response.status_code == 503:
                with self.tally.lock:
                    self.tally.unavailable += 1
                time.sleep(RETRY_PAUSE)
                continue
            if response.status_code >= 500:
                with self.tally.lock:
                    self.tally.server_errors.append((path, response.status_code, response.content))
                time.sleep(RETRY_PAUSE)
                continue
            answer = Answer(
                kind, caller, method, path, key, body, response.status_code, response.content,
                attempts, response.headers.get("idempotent-replayed") == "true",
            )  # fmt: skip
            self.tally.record(answer)
            return answer
        with self.tally.lock:
            self.tally.unanswered.append((method, path))
        return None

    def close(self) -> None:
        self.http.close()


@dataclass(frozen=True)
class Pace:
    agent: float = 0.03  # seconds between an agent's requests
    gate: float = 0.02  # seconds between a gate's events


def agent_loop(
    client: Client,
    agent_id: str,
    token: str,
    own: list[str],
    plates: Sequence[tuple[str, str]],
    rng: random.Random,
    stop: threading.Event,
    pace: float,
) -> None:
    """Bind (half), unbind one of its bindings (a third), read one (the rest), until stopped.
    ``own`` holds the agent's binding ids; ``plates`` (scope, plate) pairs to bind."""
    while not stop.is_set():
        roll = rng.random()
        if roll < 0.5 or not own:
            scope, plate = rng.choice(plates)
            request = {"scope": scope, "vehicle_type": "car", "plate": plate}
            answer = client.send(
                "bind", agent_id, token, "POST", "/v1/bindings", request, uuid.uuid4().hex
            )
            if answer is not None and answer.status in (200, 201):
                own.append(answer.body["id"])
        elif roll < 0.83:
            path = f"/v1/bindings/{rng.choice(own)}"
            client.send("unbind", agent_id, token, "DELETE", path, key=uuid.uuid4().hex)
        else:
            client.send("read", agent_id, token, "GET", f"/v1/bindings/{rng.choice(own)}")
        stop.wait(pace)


def gate_loop(
    client: Client,
    lot_id: str,
    token: str,
    reads: Sequence[Read],
    run: str,
    stop: threading.Event,
    pace: float,
) -> None:
    """Post the lot's reads in time order (offline-style: ``replayed``), until stopped."""
    for read in reads:
        if stop.is_set():
            return
        body = event_body(read, run, replayed=True)
        client.send("gate", lot_id, token, "POST", f"/v1/lots/{lot_id}/events", body)
        stop.wait(pace)


@dataclass
class Load:
    """The client threads of a run: started once, running across every kill."""

    threads: list[threading.Thread] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def add(self, client: Client, target: Callable[..., None], pace: float, *args: Any) -> None:
        """A thread running ``target(client, *args, stop, pace)``."""
        self.clients.append(client)
        thread = threading.Thread(target=target, args=(client, *args, self.stop, pace), daemon=True)
        self.threads.append(thread)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        """Stop sending new requests; wait for those in flight to get their answers."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=GIVE_UP_AFTER + 10)
        for client in self.clients:
            client.close()
