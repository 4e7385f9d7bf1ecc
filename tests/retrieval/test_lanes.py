"""Fair turns at the embedding model: the query lane first, projects in rotation."""

from __future__ import annotations

import asyncio

import pytest

from assistantd.retrieval.lanes import FairTurns, Lane, LaneFull


async def _take(turns: FairTurns, project: str, lane: Lane, order: list[str], tag: str) -> None:
    async with turns.turn(project, lane):
        order.append(tag)
        await asyncio.sleep(0)


async def test_searches_go_before_bulk_work_and_projects_take_turns() -> None:
    turns = FairTurns(1)
    order: list[str] = []
    async with turns.turn("x", "bulk"):  # the slot is busy while everyone queues
        tasks = [
            asyncio.create_task(_take(turns, "a", "bulk", order, f"bulk-a{i}")) for i in range(3)
        ]
        tasks += [asyncio.create_task(_take(turns, "a", "query", order, f"a{i}")) for i in range(4)]
        tasks.append(asyncio.create_task(_take(turns, "b", "query", order, "b0")))
        await asyncio.sleep(0.01)
        assert turns.waiting() == 8
    await asyncio.gather(*tasks)
    # Queries first; within them a and b alternate (b's one search waits one turn, not
    # four); bulk work last, in order.
    assert order == ["a0", "b0", "a1", "a2", "a3", "bulk-a0", "bulk-a1", "bulk-a2"]
    assert turns.waiting() == 0


async def test_a_cancelled_waiter_gives_its_turn_on() -> None:
    turns = FairTurns(1)
    order: list[str] = []
    async with turns.turn("x", "query"):
        gone = asyncio.create_task(_take(turns, "a", "query", order, "gone"))
        kept = asyncio.create_task(_take(turns, "b", "query", order, "kept"))
        await asyncio.sleep(0.01)
        gone.cancel()
    await asyncio.gather(gone, kept, return_exceptions=True)
    assert order == ["kept"]
    # The slot is free again: a new turn starts at once.
    await asyncio.wait_for(_take(turns, "c", "bulk", order, "later"), 1)
    assert order == ["kept", "later"]


async def test_a_project_may_queue_only_so_many_requests() -> None:
    turns = FairTurns(1, max_waiting=3)
    order: list[str] = []
    async with turns.turn("x", "query"):
        mine = [asyncio.create_task(_take(turns, "a", "query", order, f"a{i}")) for i in range(3)]
        await asyncio.sleep(0.01)
        with pytest.raises(LaneFull):
            async with turns.turn("a", "query"):
                pass
        other = asyncio.create_task(_take(turns, "b", "query", order, "b"))  # not a's bound
        await asyncio.sleep(0.01)
    await asyncio.gather(*mine, other)
    assert sorted(order) == ["a0", "a1", "a2", "b"]
