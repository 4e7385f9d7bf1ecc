"""SQLite: reads on the event loop, writes group-committed by one writer thread.

Why this shape:
- A read is an index seek that takes microseconds of CPU. Running it inline costs
  less than handing it to a thread and back, and WAL readers never wait on locks.
- All writes go through one connection on one thread. It takes whatever units are
  queued, runs them in a single `BEGIN IMMEDIATE` transaction and commits once, so
  one fsync (`synchronous=FULL`) covers every request that arrived meanwhile, and
  the event loop never blocks on a lock held by another process (a worker).
- If any unit of a batch raises, the batch is rolled back and each unit is re-run
  in a transaction of its own, so one bad request cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from assistantd.store.sql import Conn, Query

__all__ = ["SqliteDatabase", "connect", "sqlite_path"]

T = TypeVar("T")
log = logging.getLogger(__name__)

_MAX_BATCH = 512
_Job = tuple[Callable[[Conn], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]


def sqlite_path(url: str) -> str:
    """`sqlite:///abs/path`, `sqlite+aiosqlite:///rel/path` → a path for sqlite3."""
    path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
    return path or ":memory:"


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, the module must not.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    for pragma in (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA synchronous={synchronous}",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=30000",
    ):
        conn.execute(pragma)
    return conn


class _SqliteConn:
    dialect = "sqlite"

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def all(self, query: Query, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self.raw.execute(query.sqlite, query.sqlite_params(params)).fetchall()

    def first(self, query: Query, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        sql = query.sqlite
        row: tuple[Any, ...] | None = self.raw.execute(sql, query.sqlite_params(params)).fetchone()
        return row

    def execute(self, query: Query, params: Mapping[str, Any]) -> int:
        sql = query.sqlite
        return self.raw.execute(sql, query.sqlite_params(params)).rowcount

    def executemany(self, query: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.raw.executemany(query.sqlite, rows)


def _settle(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in results:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


class _Writer(threading.Thread):
    def __init__(self, path: str, synchronous: str) -> None:
        super().__init__(name="assistantd-sqlite-writer", daemon=True)
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.conn = _SqliteConn(connect(path, synchronous))

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                break
            batch = [job]
            while len(batch) < _MAX_BATCH:
                try:
                    more = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(more)
            self._run_batch(batch)
        self.conn.raw.close()

    def _transaction(self, units: list[Callable[[Conn], Any]]) -> list[Any]:
        raw = self.conn.raw
        raw.execute("BEGIN IMMEDIATE")
        try:
            results = [unit(self.conn) for unit in units]
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise
        return results

    def _run_batch(self, batch: list[_Job]) -> None:
        settled: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        try:
            results = self._transaction([unit for unit, _, _ in batch])
            for (_, future, loop), value in zip(batch, results, strict=True):
                settled.setdefault(loop, []).append((future, value, None))
        except BaseException as exc:
            if len(batch) == 1:
                _, future, loop = batch[0]
                settled[loop] = [(future, None, exc)]
            else:
                self._rerun_alone(batch, settled)
        for loop, results in settled.items():
            try:
                loop.call_soon_threadsafe(_settle, results)
            except RuntimeError:  # the loop closed while we worked
                log.debug("event loop closed before %d writes were settled", len(results))

    def _rerun_alone(
        self, batch: list[_Job], settled: dict[asyncio.AbstractEventLoop, list[Any]]
    ) -> None:
        for unit, future, loop in batch:
            try:
                (value,) = self._transaction([unit])
                settled.setdefault(loop, []).append((future, value, None))
            except BaseException as exc:  # handed to the awaiting request
                settled.setdefault(loop, []).append((future, None, exc))


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        self.path = path
        self._reader = _SqliteConn(connect(path, synchronous))
        self._writer = _Writer(path, synchronous)
        self._writer.start()
        self._synchronous = synchronous
        self._local = threading.local()
        self._heavy: list[_SqliteConn] = []

    async def read(self, unit: Callable[[Conn], T]) -> T:
        return unit(self._reader)

    async def read_heavy(self, unit: Callable[[Conn], T]) -> T:
        """On a thread with its own connection (one per thread, kept): WAL readers run in
        parallel with the loop's reads and the writer."""

        def run() -> T:
            conn: _SqliteConn | None = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = _SqliteConn(connect(self.path, self._synchronous))
                self._heavy.append(conn)
            return unit(conn)

        return await asyncio.to_thread(run)

    async def snapshot(self, unit: Callable[[Conn], T]) -> T:
        def run() -> T:
            raw = connect(self.path, self._synchronous)
            try:
                raw.execute("BEGIN")  # the snapshot is taken at the first read
                return unit(_SqliteConn(raw))
            finally:
                raw.execute("ROLLBACK")
                raw.close()

        return await asyncio.to_thread(run)

    async def write(self, unit: Callable[[Conn], T], *, single_write: bool = False) -> T:
        # One writer thread commits in groups: a transaction costs nothing extra here.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._writer.jobs.put((unit, future, loop))
        return await future

    async def dispose(self) -> None:
        self._writer.jobs.put(None)
        await asyncio.get_running_loop().run_in_executor(None, self._writer.join)
        self._reader.raw.close()
        for conn in self._heavy:
            conn.raw.close()
