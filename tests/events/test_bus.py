"""The event bus, in-process and on Redis: numbered events, replay, no gap, no repeat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from assistantd.events.bus import Event, EventBus, EventsLost, InMemoryEventBus
from assistantd.events.redis_bus import RedisEventBus
from tests.redis_server import REDIS_URL, new_prefix

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    made: EventBus
    if request.param == "memory":
        made = InMemoryEventBus()
    else:
        made = RedisEventBus(redis.Redis.from_url(REDIS_URL), prefix=new_prefix(), max_len=100)
    yield made
    await made.close()


async def _drain(events: object, want: int, timeout_s: float = 5.0) -> list[Event]:
    got: list[Event] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(got) < want and asyncio.get_running_loop().time() < deadline:
        got += await events.next(0.5)  # type: ignore[attr-defined]
    return got


async def test_events_are_numbered_from_one_and_replayed_to_late_subscribers(bus: EventBus) -> None:
    assert await bus.publish("run_a", "thread.run.created", b"{}") == 1
    await bus.publish_many(
        "run_a", [("thread.run.queued", b"{}"), ("thread.run.in_progress", b"{}")]
    )
    assert await bus.publish("run_a", "thread.message.delta", b'{"x":1}') == 4
    async with bus.subscribe("run_a", after=0) as events:
        got = await _drain(events, 4)
    assert [e.seq for e in got] == [1, 2, 3, 4]
    assert [e.name for e in got][:3] == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
    ]
    assert got[3].data == b'{"x":1}'
    async with bus.subscribe("run_a", after=2) as events:
        assert [e.seq for e in await _drain(events, 2)] == [3, 4]


async def test_a_subscriber_sees_what_is_published_while_it_waits_and_only_once(
    bus: EventBus,
) -> None:
    async with bus.subscribe("run_b", after=0) as events:

        async def produce() -> None:
            for i in range(50):
                await bus.publish("run_b", "thread.message.delta", b"%d" % i)
                if i % 7 == 0:
                    await asyncio.sleep(0)

        producer = asyncio.create_task(produce())
        got = await _drain(events, 50)
        await producer
        assert await events.next(0) == []  # nothing twice
    assert [e.seq for e in got] == list(range(1, 51))
    assert [e.data for e in got] == [b"%d" % i for i in range(50)]


async def test_subscribing_from_now_skips_what_was_published_before(bus: EventBus) -> None:
    await bus.publish("run_c", "thread.run.requires_action", b"{}")
    async with bus.subscribe("run_c") as events:
        assert await events.next(0) == []
        await bus.publish("run_c", "thread.run.queued", b"{}")
        got = await _drain(events, 1)
    assert [(e.seq, e.name) for e in got] == [(2, "thread.run.queued")]


async def test_a_wait_with_nothing_published_times_out_empty(bus: EventBus) -> None:
    async with bus.subscribe("run_d", after=0) as events:
        assert await events.next(0.05) == []


async def test_runs_do_not_see_each_others_events(bus: EventBus) -> None:
    await bus.publish("run_e", "thread.run.created", b"e")
    await bus.publish("run_f", "thread.run.created", b"f")
    async with bus.subscribe("run_f", after=0) as events:
        got = await _drain(events, 1)
    assert [(e.seq, e.data) for e in got] == [(1, b"f")]


async def test_redis_bounds_each_run_and_says_when_a_reader_fell_behind() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    prefix = new_prefix()
    bus = RedisEventBus(client, prefix=prefix, max_len=100, retain_s=7, live_ttl_s=50)
    try:
        for i in range(1000):
            await bus.publish("run_g", "thread.message.delta", b"%d" % i)
        assert 100 <= await client.xlen(f"{prefix}run:run_g") < 1000
        assert 0 < await client.ttl(f"{prefix}run:run_g") <= 50
        async with bus.subscribe("run_g", after=0) as events:
            with pytest.raises(EventsLost):
                await events.next(0)
        async with bus.subscribe("run_g", after=990) as events:
            assert [e.seq for e in await events.next(0)] == list(range(991, 1001))
        await bus.publish("run_g", "thread.run.completed", b"{}")
        assert 0 < await client.ttl(f"{prefix}run:run_g") <= 7  # kept briefly once final
    finally:
        await bus.close()


async def test_the_in_memory_bus_forgets_the_oldest_finished_runs_past_its_byte_bound() -> None:
    bus = InMemoryEventBus(max_bytes=2000)
    for i in range(10):
        await bus.publish(f"run_{i}", "thread.message.delta", b"x" * 400)
        await bus.publish(f"run_{i}", "thread.run.completed", b"{}")

    async def kept(run_id: str) -> list[int]:
        async with bus.subscribe(run_id, after=0) as events:
            return [e.seq for e in await events.next(0)]

    assert await kept("run_0") == []  # the oldest finished: forgotten
    assert await kept("run_9") == [1, 2]  # the newest: kept
    # A live run is never forgotten, even alone over the bound; finished ones make room.
    await bus.publish("run_live", "thread.message.delta", b"y" * 5000)
    assert await kept("run_live") == [1]
    assert await kept("run_9") == []
