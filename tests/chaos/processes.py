"""The processes a chaos run kills: ``platebind serve`` and one-off CLI commands.

Each is started in a session of its own (``start_new_session``), so SIGKILL to its process
group takes everything it started with it, as a power cut or the OOM killer would. Output goes
to log files, never pipes: a pipe nobody reads would stall the process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.processes import free_port

# The real CLI, with one line on stdout once its imports are done: a kill can then be aimed
# at the command's work rather than at Python starting up.
_CLI = (
    "import sys\n"
    "from platebind.cli import app\n"
    "sys.stdout.write('imported\\n'); sys.stdout.flush()\n"
    "app(prog_name='platebind')\n"
)
READY_TIMEOUT = 60.0


def platebind_command(*args: str) -> list[str]:
    return [sys.executable, "-c", _CLI, *args]


def _environment(id_hash_key: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PLATEBIND_ID_HASH_KEY"] = id_hash_key
    env.pop("DATABASE_URL", None)  # --database-url says which database
    env["PYTHONUNBUFFERED"] = "1"
    return env


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and everything in its group; reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass
class Server:
    """``platebind serve`` on a fixed loopback port, started again after every kill."""

    database_url: str
    workdir: Path
    id_hash_key: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)
    downtimes: list[float] = field(default_factory=list)
    _killed_at: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start and wait for ``/readyz``; a port taken meanwhile by someone else is replaced."""
        for _ in range(3):
            if self._spawn_and_wait():
                if self._killed_at is not None:
                    self.downtimes.append(time.monotonic() - self._killed_at)
                    self._killed_at = None
                return
            self.port = free_port()
        raise RuntimeError(f"platebind serve did not start; see {self.workdir / 'serve.log'}")

    def _spawn_and_wait(self) -> bool:
        with open(self.workdir / "serve.log", "ab") as log:
            self.process = subprocess.Popen(
                platebind_command(
                    "serve", "--database-url", self.database_url, "--port", str(self.port)
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_environment(self.id_hash_key),
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2.0).status_code == 200:
                    self.pids.append(self.process.pid)
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        kill_group(self.process)
        return False

    def kill(self) -> None:
        assert self.process is not None
        self._killed_at = time.monotonic()
        kill_group(self.process)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            kill_group(self.process)
            self.process = None


@dataclass
class CliRun:
    """One ``platebind`` command run as its own process (cycle run, statements export)."""

    process: subprocess.Popen[bytes]
    log: Path
    started: float

    @classmethod
    def start(cls, args: list[str], workdir: Path, name: str, id_hash_key: str) -> CliRun:
        log = workdir / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                platebind_command(*args),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_environment(id_hash_key),
                start_new_session=True,
            )
        return cls(process, log, time.monotonic())

    def wait_imported(self, timeout: float = 30.0) -> float | None:
        """Seconds until the imports were done (None: it exited or timed out first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.read_bytes().startswith(b"imported\n"):
                return time.monotonic() - self.started
            if self.process.poll() is not None:
                return None
            time.sleep(0.002)
        return None

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> bool:
        """SIGKILL it; whether it was still running."""
        alive = self.running
        kill_group(self.process)
        return alive

    def finish(self, timeout: float = 120.0) -> int:
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")
