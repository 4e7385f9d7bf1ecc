"""The token-bucket contract, run against both implementations: MemoryBuckets (one
process) and RedisBuckets (every process, on the machine's Redis)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from assistantd.limits.buckets import Buckets, MemoryBuckets, RedisBuckets, Take
from tests.redis_server import REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def buckets(request: pytest.FixtureRequest) -> AsyncIterator[Buckets]:
    if request.param == "memory":
        yield MemoryBuckets()
        return
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at " + REDIS_URL)
    try:
        yield RedisBuckets(client)
    finally:
        await client.aclose()


def _key() -> str:
    return f"assistantd-test-{uuid.uuid4().hex[:12]}:bucket"


async def test_a_full_bucket_serves_its_capacity_then_refuses(buckets: Buckets) -> None:
    key = _key()
    for left in (2, 1, 0):
        (level,) = await buckets.take([Take(key, 3)])
        assert not level.refused
        assert level.remaining == left
    (level,) = await buckets.take([Take(key, 3)])
    assert level.refused
    assert 0 < level.retry_after_s <= 20.5  # one unit of 3 a minute comes back in 20 s


async def test_takes_are_all_or_nothing(buckets: Buckets) -> None:
    requests, tokens = _key(), _key()
    await buckets.take([Take.debit(tokens, 100, 150)])  # a run overspent: below zero
    levels = await buckets.take([Take(requests, 10), Take(tokens, 100, cost=0)])
    assert [lv.refused for lv in levels] == [False, True]
    # The refused take did not spend a request.
    (peeked,) = await buckets.take([Take.peek(requests, 10)])
    assert peeked.remaining == 10


async def test_a_debit_goes_below_zero_but_not_past_minus_capacity(buckets: Buckets) -> None:
    key = _key()
    (level,) = await buckets.take([Take.debit(key, 100, 1000)])
    assert not level.refused
    assert level.tokens == pytest.approx(-100, abs=0.5)
    assert level.remaining == 0
    assert level.reset_s == pytest.approx(120, abs=1)  # two minutes to be full again
