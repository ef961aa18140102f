"""A throwaway PostgreSQL server on loopback for the end-to-end tests.

Started from the server binaries on the machine (`initdb`, `pg_ctl`), in a temporary
directory, on a free port. PostgreSQL refuses to run as root, so as root it runs as
the `postgres` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Postgres:
    port: int
    bin_dir: Path

    def sql(self, query: str, database: str = "voiso") -> list[list[str]]:
        """Rows of a query through psql, as lists of strings."""
        result = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", database, "-At", "-F", "\t", "-c", query],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return [line.split("\t") for line in result.stdout.splitlines()]


def _bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not candidates:
        msg = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        raise RuntimeError(msg)
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """Run a PostgreSQL server with a `voiso` database until the block ends."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="tap-voiso-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = root / "data"

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, text=True)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        run(
            str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
            "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
        )  # fmt: skip
        server = Postgres(port, bin_dir)
        server.sql("CREATE DATABASE voiso", database="postgres")
        yield server
    finally:
        stop = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run([*as_user, *stop], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
