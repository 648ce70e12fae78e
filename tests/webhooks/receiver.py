"""A real webhook receiver for tests: an HTTP server on a loopback port, in a thread.

It records every request and answers 200, unless told to misbehave for the next requests:
answer 500, redirect, hang past the sender's timeout, close the connection unanswered, or
answer 200 slowly (``slow``: only once the test calls ``release_slow``).

    with Receiver() as receiver:
        receiver.fail_next(2, "500")
        ...  # deliver to receiver.url
        assert receiver.wait_for(3)[-1].answered == 200
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

Misbehaviour = Literal["500", "redirect", "hang", "close", "slow"]


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it, and the status it answered (None: no answer)."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    answered: int | None

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """Records requests; ``fail_next`` makes the next ``n`` requests misbehave."""

    def __init__(self, path: str = "/hooks", *, hang_seconds: float = 5.0) -> None:
        self.path = path
        self.hang_seconds = hang_seconds
        self._lock = threading.Condition()
        self._requests: list[Received] = []
        self._plan: deque[Misbehaviour] = deque()
        self._released = threading.Event()  # ends every hang at shutdown
        self._slow_released = threading.Event()  # lets every slow answer go
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def fail_next(self, n: int, how: Misbehaviour = "500") -> None:
        with self._lock:
            self._plan.extend([how] * n)

    def fail_always(self, how: Misbehaviour = "500") -> None:
        self.fail_next(10_000, how)

    def release_slow(self) -> None:
        """Let every ``slow`` request held so far (and later ones) answer 200."""
        self._slow_released.set()

    def recover(self) -> None:
        """Answer 200 from now on."""
        with self._lock:
            self._plan.clear()

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    @property
    def delivered(self) -> list[Received]:
        """Requests answered 2xx."""
        return [r for r in self.requests if r.answered is not None and 200 <= r.answered < 300]

    def delivered_ids(self) -> Counter[str]:
        """How many times each ``webhook-id`` was delivered."""
        return Counter(r.webhook_id for r in self.delivered)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least ``count`` requests came in; all of them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._requests)} of {count} requests came in")
                self._lock.wait(left)
            return list(self._requests)

    def close(self) -> None:
        self._released.set()
        self._slow_released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- called from the server's handler threads -----------------------------------------

    def _next_behaviour(self) -> Misbehaviour | None:
        with self._lock:
            return self._plan.popleft() if self._plan else None

    def _record(self, request: Received) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            how = receiver._next_behaviour()
            status = _STATUS.get(how) if how is not None else 200
            received = Received(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                answered=status,
            )
            receiver._record(received)
            if how == "hang":
                receiver._released.wait(receiver.hang_seconds)
                self.close_connection = True
                return
            if how == "slow":
                receiver._slow_released.wait(receiver.hang_seconds)
            if how == "close":
                self.close_connection = True  # no status line: the sender sees a dropped line
                return
            self._answer(status or 200)

        def _answer(self, status: int) -> None:
            text = b"ok" if status < 300 else b"receiver is down"
            self.send_response(status)
            if status == 302:
                self.send_header("location", "http://127.0.0.1:9/elsewhere")
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

    return Handler


_STATUS: dict[Misbehaviour, int | None] = {
    "500": 500,
    "redirect": 302,
    "hang": None,
    "close": None,
    "slow": 200,
}
