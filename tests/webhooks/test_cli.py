"""``agent webhook set``, ``worker`` and the worker inside ``serve``.

The long-running commands run as real processes and are stopped the way an init system stops
them (SIGTERM).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from platebind.db import make_engine, make_session_factory, transaction
from platebind.webhooks import service
from tests.cli_helpers import PLATE, SCOPE, Cli, build_cli_world
from tests.conftest import Db
from tests.processes import free_port, start_cli, wait_until_serving
from tests.webhooks.receiver import Receiver

PROCESS_TIMEOUT = 20.0


@pytest.fixture
def cli(db: Db) -> Cli:
    cli = Cli(db.url)
    build_cli_world(cli)
    return cli


@pytest.fixture
def sqlite_cli(sqlite_template: Path, tmp_path: Path) -> Cli:
    """SQLite only, for the tests that start processes."""
    path = tmp_path / "worker.db"
    path.write_bytes(sqlite_template.read_bytes())
    cli = Cli(f"sqlite:///{path}")
    build_cli_world(cli)
    return cli


def _bind_now(cli: Cli, agent: str = "cmj") -> None:
    """A bind at the real time, so the system-clock worker finds its event due."""
    result = cli.run("bind", "--agent", agent, "--scope", SCOPE, "--type", "car", "--plate", PLATE)
    assert result.exit_code == 0, result.stderr


def test_agent_webhook_set_prints_the_url_and_a_new_secret_each_time(cli: Cli) -> None:
    url = "https://cmj.example/platebind"
    first = cli.json("agent", "webhook", "set", "cmj", url)
    second = cli.json("agent", "webhook", "set", "cmj", url)

    assert set(first) == {"url", "secret"}
    assert first["url"] == url
    assert first["secret"].startswith("whsec_")
    assert second["secret"] != first["secret"]
    text = cli.run("agent", "webhook", "set", "pi", url).stdout
    assert "whsec_" in text
    assert "shown only once" in text


def test_agent_webhook_set_refuses_a_bad_url_and_an_unknown_agent(cli: Cli) -> None:
    bad = cli.refusal("agent", "webhook", "set", "cmj", "ftp://cmj.example/x")
    assert bad["code"] == "invalid_webhook_url"
    unknown = cli.refusal("agent", "webhook", "set", "nobody", "https://x.example/")
    assert unknown["code"] == "agent_not_found"


def test_worker_once_sends_what_is_due_signed_with_the_secret_set_by_the_cli(
    cli: Cli, receiver: Receiver
) -> None:
    secret = cli.json("agent", "webhook", "set", "cmj", receiver.url)["secret"]
    _bind_now(cli)

    assert cli.json("worker", "--once") == {"attempted": 1}
    (got,) = receiver.requests
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "binding.scheduled"
    assert cli.json("worker", "--once") == {"attempted": 0}


def test_worker_on_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    doc = Cli(f"sqlite:///{tmp_path / 'empty.db'}").refusal("worker", "--once")
    assert doc["code"] == "database_not_migrated"


# ---------------------------------------------------------------------------------------------
# Processes


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=PROCESS_TIMEOUT)


def _stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM; it must exit 0 promptly. Its output."""
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=PROCESS_TIMEOUT)
    assert proc.returncode == 0, output
    return output


def test_the_worker_delivers_until_sigterm_then_exits_cleanly(
    sqlite_cli: Cli, receiver: Receiver, processes: list[subprocess.Popen[str]]
) -> None:
    sqlite_cli.json("agent", "webhook", "set", "cmj", receiver.url)
    processes.append(proc := start_cli("worker", "--database-url", sqlite_cli.url))
    _bind_now(sqlite_cli)

    receiver.wait_for(1, timeout=PROCESS_TIMEOUT)
    output = _stop(proc)
    assert "webhook worker stopped" in output
    assert len(receiver.delivered) == 1


@pytest.mark.parametrize("no_worker", [False, True])
def test_serve_delivers_webhooks_unless_told_not_to(
    sqlite_cli: Cli,
    receiver: Receiver,
    processes: list[subprocess.Popen[str]],
    no_worker: bool,
) -> None:
    sqlite_cli.json("agent", "webhook", "set", "cmj", receiver.url)
    _bind_now(sqlite_cli)
    port = free_port()
    args = ["serve", "--port", str(port), "--database-url", sqlite_cli.url]
    processes.append(proc := start_cli(*args, *(["--no-worker"] if no_worker else [])))
    wait_until_serving(f"http://127.0.0.1:{port}", proc)

    if no_worker:
        time.sleep(1.5)  # a worker would have sent it at start-up, and polls every second
        assert receiver.requests == []
    else:
        receiver.wait_for(1, timeout=PROCESS_TIMEOUT)
    _stop(proc)
    assert len(receiver.requests) == (0 if no_worker else 1)


def test_serve_on_sigterm_finishes_the_webhook_in_flight_and_records_it(
    sqlite_cli: Cli, receiver: Receiver, processes: list[subprocess.Popen[str]]
) -> None:
    sqlite_cli.json("agent", "webhook", "set", "cmj", receiver.url)
    _bind_now(sqlite_cli)
    receiver.fail_next(1, "hang")  # then drops the line, well within the 10 s timeout
    port = free_port()
    processes.append(
        proc := start_cli("serve", "--port", str(port), "--database-url", sqlite_cli.url)
    )
    receiver.wait_for(1, timeout=PROCESS_TIMEOUT)

    _stop(proc)  # while the request hangs

    engine = make_engine(sqlite_cli.url)
    try:
        with transaction(make_session_factory(engine)) as s:
            (event,) = service.events_for(s, "cmj")
            (attempt,) = service.attempts_of(s, [event.id])[event.id]
    finally:
        engine.dispose()
    assert (event.status, event.attempts) == ("pending", 1)
    assert attempt.error is not None
    assert attempt.error.startswith("RemoteProtocolError")
