"""The parse pool: each file's parsing in a limited child; every limit fails that file
alone, with a `last_error` message naming the limit, and the pool goes on."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistantd.engine.parse_pool import ParseJob, ParsePool, PrepareLimits
from assistantd.retrieval.chunking import chunk_pages
from assistantd.retrieval.parsing import ParseError, ParseLimits, parse
from tests import hostile
from tests.processes import descendants


def _job(path: Path) -> ParseJob:
    return ParseJob(str(path), path.name, 800, 400)


@pytest.fixture
def fine(tmp_path: Path) -> Path:
    path = tmp_path / "fine.txt"
    path.write_text("Hedgehogs hibernate in winter. " * 200)
    return path


@pytest.fixture
def slow(tmp_path: Path) -> Path:
    """Seconds of honest parsing: 300,000 nested HTML elements."""
    path = tmp_path / "slow.html"
    path.write_bytes(hostile.html_deep())
    return path


@pytest.fixture
async def pool() -> AsyncIterator[ParsePool]:
    pool = ParsePool(PrepareLimits(), processes=1)
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_file_is_parsed_and_chunked_in_a_child(pool: ParsePool, fine: Path) -> None:
    prepared = await pool.prepare(_job(fine))
    pages = parse(fine.name, fine.read_bytes())
    assert prepared.pages == pages
    assert prepared.chunks == [c.text for c in chunk_pages(pages, 800, 400)]


async def test_a_killed_child_fails_its_file_only(pool: ParsePool, slow: Path, fine: Path) -> None:
    job = asyncio.create_task(pool.prepare(_job(slow)))
    worker = pool._workers[0]
    for _ in range(200):  # the worker's child for this job appears
        await asyncio.sleep(0.02)
        children = descendants(worker.proc.pid) if worker.proc else []
        if children:
            break
    assert children, "no child was forked for the job"
    os.kill(children[0], signal.SIGKILL)
    with pytest.raises(ParseError) as failed:
        await job
    assert "stopped unexpectedly" in failed.value.message
    assert (await pool.prepare(_job(fine))).chunks  # the pool goes on


@pytest.mark.parametrize(
    ("limits", "says"),
    [
        (PrepareLimits(timeout_s=0.5), "took longer than 0.5 s"),
        (PrepareLimits(cpu_s=1), "more than 1 s of CPU"),
    ],
)
async def test_time_limits_fail_the_file(
    slow: Path, fine: Path, limits: PrepareLimits, says: str
) -> None:
    pool = ParsePool(limits, processes=1)
    try:
        with pytest.raises(ParseError) as failed:
            await pool.prepare(_job(slow))
        assert says in failed.value.message
        assert failed.value.code == "invalid_file"
        assert (await pool.prepare(_job(fine))).chunks
    finally:
        await pool.close()


async def test_the_memory_limit_fails_the_file(tmp_path: Path, fine: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * (80 * 1024 * 1024 // 5))  # 80 MB: its chunks need more
    pool = ParsePool(
        PrepareLimits(memory_mb=300, max_tokens=100_000_000, parse=ParseLimits()), processes=1
    )
    try:
        with pytest.raises(ParseError) as failed:
            await pool.prepare(_job(big))
        assert "more than 300 MB of memory" in failed.value.message
        assert (await pool.prepare(_job(fine))).chunks
    finally:
        await pool.close()


async def test_a_missing_file_says_so(pool: ParsePool, tmp_path: Path) -> None:
    with pytest.raises(ParseError) as failed:
        await pool.prepare(_job(tmp_path / "gone.txt"))
    assert "deleted before it was read" in failed.value.message
