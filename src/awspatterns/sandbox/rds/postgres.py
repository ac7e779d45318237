"""Real PostgreSQL servers for the sandbox's RDS clusters, from the binaries the ``pgserver`` wheel ships (no
system packages). One server per cluster, on 127.0.0.1 and a free port, with the cluster's master credentials.

PostgreSQL refuses to run as root; under root the servers run as an OS user ``pgserver`` (created by pgserver's
own helper, as pgserver does).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from awspatterns.sandbox.ports import free_port

log = logging.getLogger("awspatterns.sandbox.rds.postgres")

__all__ = ["BUNDLED_MAJOR", "PostgresServer", "PostgresServers", "cluster_key"]

#: The PostgreSQL major version pgserver bundles (RDS reports the cluster's own engine version).
BUNDLED_MAJOR = 16


def cluster_key(account_id: str, region_name: str, cluster_id: str) -> str:
    """The key of a cluster's PostgreSQL server (unique across accounts and regions)."""
    return f"{account_id}/{region_name}/{cluster_id}"


def _binaries() -> Path:
    with warnings.catch_warnings():  # pgserver's import warns about XDG_RUNTIME_DIR on headless machines
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


@dataclass
class PostgresServer:
    """A running PostgreSQL server."""

    cluster_id: str
    directory: Path
    port: int
    master_username: str
    database: str
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        """The server's data directory."""
        return self.directory / "data"


def _create_database(server: PostgresServer, password: str) -> None:
    import psycopg

    with psycopg.connect(
        host=server.host,
        port=server.port,
        user=server.master_username,
        password=password,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        connection.execute(f'CREATE DATABASE "{server.database}"')  # the name was validated by CloudFormation


class PostgresServers:
    """Starts and stops one server per cluster."""

    def __init__(self, root: Path | None = None) -> None:
        """Servers keep their data under ``root`` (a fresh temporary directory when not given)."""
        self._servers: dict[str, PostgresServer] = {}
        self._lock = threading.Lock()
        self._root: Path | None = root
        self._owns_root = root is None
        self._prepared = False
        self._os_user: Any = None

    def _prepare(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="awspatterns-rds-"))
        if not self._prepared:
            self._root.mkdir(parents=True, exist_ok=True)
            self._root.chmod(0o755)  # the pgserver user must reach its data directories
            if os.geteuid() == 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    from pgserver.utils import ensure_user_exists
                self._os_user = ensure_user_exists("pgserver")
            self._prepared = True
        return self._root

    def _run(self, *args: str) -> None:
        extra: dict[str, Any] = {"user": self._os_user.pw_name} if self._os_user else {}
        result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60, **extra)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {(result.stderr or result.stdout).strip()[-500:]}")

    def start(self, key: str, cluster_id: str, username: str, password: str, database: str | None) -> PostgresServer:
        """Create and start a server for a cluster (``key`` is unique across accounts and regions). A start that
        fails leaves nothing behind: no password file, no data directory, no running server."""
        with self._lock:
            root = self._prepare()
            directory = Path(tempfile.mkdtemp(prefix=f"{cluster_id[:40]}-", dir=root))
            server = PostgresServer(cluster_id, directory, free_port(), username, database or "postgres")
            try:
                self._initialise(server, password)
                self._run(
                    str(_binaries() / "pg_ctl"),
                    "-D",
                    str(server.data_dir),
                    "-o",
                    f"-p {server.port} -h 127.0.0.1 -k {directory}",
                    "-l",
                    str(directory / "postgres.log"),
                    "-w",
                    "start",
                )
            except BaseException:
                self._discard(server)
                raise
            self._servers[key] = server
        if server.database != "postgres":
            try:
                _create_database(server, password)
            except BaseException:
                self.stop(key)
                raise
        log.info("PostgreSQL for cluster %s on port %d", cluster_id, server.port)
        return server

    def _initialise(self, server: PostgresServer, password: str) -> None:
        """``initdb`` with the master credentials; the password file lives only as long as the call."""
        password_file = server.directory / "password"
        try:
            password_file.write_text(password)
            server.data_dir.mkdir()
            if self._os_user:
                for path in (server.directory, server.data_dir, password_file):
                    os.chown(path, self._os_user.pw_uid, self._os_user.pw_gid)
            self._run(
                str(_binaries() / "initdb"),
                "-D",
                str(server.data_dir),
                "-U",
                server.master_username,
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            )
        finally:
            password_file.unlink(missing_ok=True)

    def _discard(self, server: PostgresServer) -> None:
        """Undo a start that failed part-way: stop the server if it came up, then delete its directory."""
        if (server.data_dir / "postmaster.pid").exists():
            try:
                self._run(str(_binaries() / "pg_ctl"), "-D", str(server.data_dir), "-m", "immediate", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                log.warning("stopping PostgreSQL of %s after a failed start: %s", server.cluster_id, error)
        shutil.rmtree(server.directory, ignore_errors=True)

    def get(self, key: str) -> PostgresServer | None:
        """The server of a cluster, if it runs."""
        return self._servers.get(key)

    def stop(self, key: str) -> None:
        """Stop a cluster's server and delete its data."""
        with self._lock:
            server = self._servers.pop(key, None)
        if server is None:
            return
        try:
            self._run(str(_binaries() / "pg_ctl"), "-D", str(server.data_dir), "-m", "immediate", "-w", "stop")
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            log.warning("stopping PostgreSQL of %s: %s", server.cluster_id, error)
        shutil.rmtree(server.directory, ignore_errors=True)

    def busy(self) -> bool:
        """Servers do no background work of the sandbox's: never busy."""
        return False

    def shutdown(self) -> None:
        """Stop every server (the sandbox is shutting down)."""
        for key in list(self._servers):
            self.stop(key)
        if self._root is not None and self._owns_root:
            shutil.rmtree(self._root, ignore_errors=True)
