"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, the server on a
free 127.0.0.1 port with its socket in that folder, trust authentication, stopped by its pid.

Run as root (CI, these machines), the cluster belongs to the ``postgres`` user, since initdb
refuses root; otherwise it runs as the current user. A missing or broken PostgreSQL raises
``ClusterError`` with the server's own log: the tests that need it fail, loudly.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

BINARY_DIRS = (
    os.environ.get("ROOMS_KIT_PG_BIN", ""),
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/14/bin",
    "/usr/lib/postgresql/13/bin",
)
START_SECONDS = 60
STOP_SECONDS = 60
"""Guards against a hang; a healthy cluster starts and stops in about a second."""
PORT_ATTEMPTS = 3
"""Ports tried by a first start: the one picked may be taken by the time the server binds it."""


class ClusterError(RuntimeError):
    """PostgreSQL could not be started or stopped."""


def _binaries() -> Path:
    for folder in BINARY_DIRS:
        if folder and (Path(folder) / "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL >= 13 "
        "(Debian: postgresql) or point ROOMS_KIT_PG_BIN at their folder"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One running PostgreSQL server; ``url(name)`` addresses a database in it."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.bin = _binaries()
        # As root the cluster's user must reach the folder: /tmp is open to every user, while
        # a TMPDIR under root's home may not be.
        parent = "/tmp" if os.geteuid() == 0 else None
        self.folder = Path(tempfile.mkdtemp(prefix="rooms-kit-pg-", dir=parent))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = _free_port()
        self.pid: int | None = None
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.folder.chmod(0o700)

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [*self._as, *command],
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
                f"{self._log_text()}"
            )

    def _log_text(self) -> str:
        try:
            return "\nserver log:\n" + self.log.read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self._launch_on_a_free_port()

    def _launch_on_a_free_port(self) -> None:
        """``launch``, on another free port if the one picked was taken meanwhile (it was free
        when picked, seconds before the server binds it: another process may have bound it, or
        used it for a connection of its own, in between)."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self.launch()
                return
            except ClusterError as error:
                if attempt == PORT_ATTEMPTS or "Address already in use" not in str(error):
                    raise
                self.log.unlink(missing_ok=True)  # the next attempt's log alone
                self.port = _free_port()

    def launch(self) -> None:
        """Start the server on the existing data folder (again, after ``halt``)."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
        options += "-c max_connections=300"
        if not self.durable:
            # a throwaway cluster: durability against a crash of PostgreSQL itself is not what
            # the tests check (killed rooms-kit workers are), so skip the disk flushes
            options += " -c fsync=off -c full_page_writes=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "start",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            str(START_SECONDS),
        )
        pid_file = self.data / "postmaster.pid"
        self.pid = int(pid_file.read_text().splitlines()[0])
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=5):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ClusterError(f"PostgreSQL did not accept connections: {exc}") from None
                time.sleep(0.1)

    def standby(self) -> Cluster:
        """A new, running hot standby of this cluster (a base backup that streams from it):
        read-only, as PostgreSQL is while in recovery. Stop it with its own ``stop``."""
        copy = Cluster(durable=self.durable)
        copy._run(
            str(self.bin / "pg_basebackup"),
            "-D", str(copy.data),
            "-h", "127.0.0.1",
            "-p", str(self.port),
            "-U", "postgres",
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-sync",
        )  # fmt: skip
        try:
            copy._launch_on_a_free_port()
        except BaseException:
            copy.stop()
            raise
        return copy

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown of our own postmaster (SIGINT to its pid), then remove the folder."""
        self.halt()
        shutil.rmtree(self.folder, ignore_errors=True)

    def halt(self) -> None:
        """Fast shutdown of our own postmaster (SIGINT to its pid); the data stays."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + STOP_SECONDS
            while _alive(self.pid):
                if time.monotonic() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    break
                time.sleep(0.05)
            self.pid = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not ours to reap (pg_ctl's child); it counts as stopped
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
    except OSError:
        return False
    return state != "Z"
