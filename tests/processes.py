"""Real ``platebind`` processes for tests: start one, find a free port, wait until it serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

import httpx

# Generous: a busy CI machine has been seen taking 13 s to start a two-worker server.
PROCESS_TIMEOUT = 60.0


def start_cli(
    *args: str, env: Mapping[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[str]:
    """``platebind ARGS`` as a child process (this interpreter), stdout and stderr together
    captured as text, or appended to ``log`` (a busy server would fill a pipe nobody reads)."""
    code = "from platebind.cli import main; main()"
    with ExitStack() as stack:
        output = stack.enter_context(log.open("a")) if log is not None else subprocess.PIPE
        return subprocess.Popen(
            [sys.executable, "-c", code, *args],
            text=True,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=None if env is None else {**os.environ, **env},
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_serving(
    base_url: str, proc: subprocess.Popen[str], timeout: float = PROCESS_TIMEOUT
) -> None:
    """Until ``/healthz`` answers (the process, not the database); fails if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError("the server did not come up")
