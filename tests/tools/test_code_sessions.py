"""SessionPool: the spare sandbox, idle reaping, eviction, and uid leases."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistantd.tools.code_interpreter.sandbox import Limits, SandboxError, bwrap_path
from assistantd.tools.code_interpreter.sessions import SessionPool
from assistantd.tools.code_interpreter.uids import UidLeases
from tests.requires import requires

needs_bwrap = requires("bwrap")
LIMITS = Limits(call_timeout_s=30, memory_mb=1024, disk_mb=8, tmp_mb=8)


def test_uid_leases_are_exclusive_across_holders(tmp_path: Path) -> None:
    first, second = UidLeases(500_000, tmp_path), UidLeases(500_000, tmp_path)
    a = [first.take() for _ in range(3)]
    b = [second.take() for _ in range(3)]
    assert len(set(a + b)) == 6  # two processes never share a uid
    first.give(a[0])
    # A released uid is free for others, but its holder moves on before reusing it.
    assert first.take() != a[0]
    assert UidLeases(500_000, tmp_path).take() == a[0]


@pytest.fixture
async def pool() -> AsyncIterator[SessionPool]:
    pool = SessionPool(
        bwrap=bwrap_path(),
        python=sys.executable,
        limits=LIMITS,
        max_sessions=2,
        idle_timeout_s=3600,
    )
    try:
        yield pool
    finally:
        await pool.close()


async def _run(pool: SessionPool, thread: str, code: str) -> str:
    session = pool.session("p", thread)
    async with session.lock:
        return (await pool.execute(session, code)).logs


@needs_bwrap
async def test_a_new_session_takes_the_spare_started_ahead(pool: SessionPool) -> None:
    assert pool._spare is None  # nothing is started before code first runs
    await _run(pool, "a", "x = 1")
    assert pool._spare is not None
    spare = await pool._spare
    await _run(pool, "b", "print('x' in globals())")
    assert pool.sessions[("p", "b")].sandbox is spare
    assert await _run(pool, "b", "print('x' in globals())") == "False\n"  # a clean kernel


@needs_bwrap
async def test_idle_sessions_are_reaped_and_the_lru_is_evicted(pool: SessionPool) -> None:
    pool.keep_spare = False
    await _run(pool, "a", "a = 1")
    await _run(pool, "b", "b = 1")
    first = pool.sessions[("p", "a")].sandbox
    assert first is not None
    await _run(pool, "c", "c = 1")  # max 2: the least recently used idle one ends
    assert set(pool.sessions) == {("p", "b"), ("p", "c")}
    await pool.close()  # lets the background kill finish
    assert not first.alive
    pool.idle_timeout_s = 0
    await _run(pool, "d", "d = 1")
    sandbox = pool.sessions[("p", "d")].sandbox
    assert await pool.reap() == 1
    assert pool.sessions == {}
    assert sandbox is not None
    assert not sandbox.alive


@needs_bwrap
async def test_when_every_session_is_busy_a_new_one_is_refused(pool: SessionPool) -> None:
    await _run(pool, "a", "a = 1")
    await _run(pool, "b", "b = 1")
    busy = [pool.sessions[("p", "a")].lock, pool.sessions[("p", "b")].lock]
    for lock in busy:
        await lock.acquire()  # both are running code
    try:
        with pytest.raises(SandboxError, match="all 2 code sessions of this server are busy"):
            pool.session("p", "c")
    finally:
        for lock in busy:
            lock.release()
    assert pool.session("p", "c").key == ("p", "c")  # once one is idle, it gives way
