"""Running the dispatcher: ``platebind worker`` in the foreground, or a background thread of
``platebind serve``. Both stop cleanly: the request in flight finishes, unsent claims are
given back."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType

import httpx
import structlog
from sqlalchemy.engine import Engine

from platebind.clock import SystemClock
from platebind.db import make_engine, make_session_factory
from platebind.webhooks.dispatcher import USER_AGENT, DeliveryPolicy, Dispatcher

log = structlog.get_logger("platebind.webhooks")
THREAD_NAME = "platebind-webhooks"


@contextmanager
def dispatcher_for(engine: Engine, policy: DeliveryPolicy | None = None) -> Iterator[Dispatcher]:
    """A dispatcher on ``engine`` with its own HTTP client, closed at the end."""
    policy = policy if policy is not None else DeliveryPolicy()
    with httpx.Client(
        timeout=policy.timeout, follow_redirects=False, headers={"user-agent": USER_AGENT}
    ) as http:
        yield Dispatcher(make_session_factory(engine), SystemClock(), http, policy)


def run_worker(engine: Engine, *, once: bool = False, policy: DeliveryPolicy | None = None) -> int:
    """Deliver until SIGTERM or CTRL-C, or one batch with ``once``; the number of events
    attempted in the first batch. Call from the main thread (it installs signal handlers).

    The first batch runs unguarded, so a database that is unreachable or not migrated stops
    the worker at once; later failures are logged and retried.
    """
    stop = threading.Event()
    with dispatcher_for(engine, policy) as dispatcher, _stop_on_signals(stop):
        dispatcher.stopping = stop
        attempted = dispatcher.run_once()
        if not once:
            log.info("webhook worker started", first_batch=attempted)
            dispatcher.run_forever(stop)
            log.info("webhook worker stopped")
    return attempted


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()  # nothing else: a handler that prints could re-enter a print in progress

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def background_worker(
    database_url: str, policy: DeliveryPolicy | None = None
) -> Iterator[threading.Thread]:
    """Run the dispatcher in a thread while the block runs; stop it and wait at the end."""
    stop = threading.Event()
    engine = make_engine(database_url)
    with ExitStack() as cleanup:
        cleanup.callback(engine.dispose)
        dispatcher = cleanup.enter_context(dispatcher_for(engine, policy))
        thread = threading.Thread(
            target=dispatcher.run_forever, args=(stop,), name=THREAD_NAME, daemon=True
        )
        thread.start()
        try:
            yield thread
        finally:
            stop.set()
            # The request in flight may take up to its connect, write and read timeouts.
            thread.join(timeout=3 * dispatcher.policy.timeout + 5)
            if thread.is_alive():
                log.warning("the webhook worker did not stop in time; its claims will expire")
