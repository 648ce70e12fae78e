"""The agents' webhook receiver for a chaos run: a real HTTP server in this process.

It checks each delivery's Standard Webhooks signature with the agent's secret (the path says
which agent), records the outbox event id behind ``webhook-id`` once the whole body has
arrived, and answers 200. ``slow`` makes it take its time, so that a kill lands while
deliveries are in flight; ``in_flight`` says how many are being answered right now.
"""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from platebind.webhooks.signing import event_id_of


class Receiver:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # set once the world has them
        self._lock = threading.Lock()
        self._delivered: Counter[int] = Counter()
        self.bad_signatures = 0
        # Requests whose body stopped short: the sender was killed while sending it. Not
        # verified (no signature can match half a body) and not answered, like a real server.
        self.cut_short = 0
        self._in_flight = 0
        self._delay = 0.0
        self._released = threading.Event()  # ends every slow answer at shutdown
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def slow(self, seconds: float) -> None:
        self._delay = seconds

    def fast(self) -> None:
        self._delay = 0.0

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def delivered(self) -> Counter[int]:
        """Outbox event id -> how many times it arrived with a valid signature."""
        with self._lock:
            return Counter(self._delivered)

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    # -- from the server's handler threads --------------------------------------------------

    def _receive(self, agent_id: str, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            self._in_flight += 1
        try:
            secret = self.secrets.get(agent_id)
            try:
                if secret is None:
                    raise WebhookVerificationError("unknown agent")
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                with self._lock:
                    self.bad_signatures += 1
                return 400
            event_id = event_id_of(headers.get("webhook-id", ""))
            if self._delay:
                self._released.wait(self._delay)
            with self._lock:
                if event_id is not None:
                    self._delivered[event_id] += 1
            return 200
        finally:
            with self._lock:
                self._in_flight -= 1


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a sender killed mid-request leaves a broken connection: that is the point


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            if len(body) < length:
                with receiver._lock:
                    receiver.cut_short += 1
                self.close_connection = True
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver._receive(self.path.rsplit("/", 1)[-1], body, headers)
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the report is the output

    return Handler
