"""Throwaway servers on loopback for the suite: PostgreSQL, Redis, SMTP.

Each starts in a temporary folder on a free port and is stopped at the end of the session.
A missing program is an error naming the Debian package, never a silent skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def require(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.exit(f"{program} not found: install the Debian package {package}", returncode=3)
    return path


def _pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.exit(
            "PostgreSQL server not found: install the Debian package postgresql", returncode=3
        )
    return Path(found[-1]).parent


@dataclass
class Postgres:
    url: str
    admin_url: str
    datadir: Path
    _bindir: Path
    _as_user: list[str] = field(default_factory=list)

    @property
    def socket_url(self) -> str:
        """The database over the server's Unix socket instead of TCP, as a service on the same
        host as its database would connect."""
        port = self.url.rsplit(":", 1)[1].split("/")[0]
        return (
            f"postgresql+psycopg://monitor@/monitor_test?host={self.datadir.parent / 'sock'}"
            f"&port={port}"
        )

    def stop(self) -> None:
        subprocess.run(
            [
                *self._as_user,
                str(self._bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "immediate",
                "stop",
            ],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres(durable: bool = False) -> Postgres:
    """initdb and start a cluster on a free port; as root, as the ``postgres`` system user.

    Tests run it without fsync (nothing is kept); ``durable`` keeps PostgreSQL's defaults, for
    benchmarks whose figures should mean what they would in production.

    The cluster lives in its own folder under the system temp dir: pytest's temp folders are
    private to root, and the ``postgres`` user could not enter them.
    """
    bindir = _pg_bindir()
    base = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    datadir, sockdir = base / "data", base / "sock"
    sockdir.mkdir(exist_ok=True)
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
        shutil.chown(sockdir, "postgres")
    port = free_port()
    subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "monitor",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c max_connections=100"
            + (
                "" if durable else " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            ),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    wait_for_port(port)
    admin = f"postgresql+psycopg://monitor@127.0.0.1:{port}/postgres"
    subprocess.run(
        [
            str(bindir / "createdb") if (bindir / "createdb").exists() else "createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "monitor",
            "monitor_test",
        ],
        check=True,
        capture_output=True,
    )
    return Postgres(
        url=f"postgresql+psycopg://monitor@127.0.0.1:{port}/monitor_test",
        admin_url=admin,
        datadir=datadir,
        _bindir=bindir,
        _as_user=as_user,
    )


@dataclass
class Redis:
    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def start_redis(base: Path) -> Redis:
    server = require("redis-server", "redis-server")
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return Redis(url=f"redis://127.0.0.1:{port}/0", process=process)
