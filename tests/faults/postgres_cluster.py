"""A private PostgreSQL server for tests that stop and start the database.

The shared server on :5432 serves every other test, so it must never be stopped; this one
lives in a scratch directory, on its own port, for one test module. As root the server runs as
the ``postgres`` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.processes import free_port


def postgres_bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are (Debian keeps them off the PATH), newest first."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    return Path(found[-1]).parent if found else None


def _version_key(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0


@dataclass
class PostgresCluster:
    bin_dir: Path
    data_dir: Path
    port: int

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url(name)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.data_dir / "server.log"), "-w", "start")

    def stop(self) -> None:
        """An immediate stop: like a crash, open connections are cut without goodbye."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def _pg_ctl(self, *args: str) -> None:
        _run_as_postgres([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args])


def new_cluster() -> PostgresCluster:
    """initdb in a scratch directory; not started."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("initdb not found (Debian package postgresql)")
    data_dir = Path(tempfile.mkdtemp(prefix="platebind-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(data_dir, owner.pw_uid, owner.pw_gid)
    data_dir.chmod(0o700)
    _run_as_postgres(
        [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust", "-N"]
    )
    return PostgresCluster(bin_dir, data_dir, free_port())


def remove_cluster(cluster: PostgresCluster) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        cluster.stop()
    shutil.rmtree(cluster.data_dir, ignore_errors=True)


def _run_as_postgres(command: Sequence[str]) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
