"""RedisEventBus: a run's events in a Redis Stream, so any process can follow any run.

One stream per run, `<prefix>run:<run_id>`. Entry ids are `0-<seq>`: XADD with the id
`0-*` makes Redis number a run's events 1, 2, 3... atomically, whichever process
publishes (the worker running it, the API process that cancelled it, the reaper that
failed it), so the sequence number needs no counter key of its own and an entry's id
is its SSE `id:`. A subscriber reads with XREAD from `0-<after>`, which replays what was
published before it came and then blocks for the rest: no window between a snapshot
and a subscription can lose an event, and a retried read cannot repeat one.

Why a stream and not pub/sub: pub/sub forgets what nobody was listening for, and a
stream resumed after a dropped connection must replay. Each open stream holds one
pooled connection while it waits in XREAD BLOCK (a few KiB of Redis memory each); one
multiplexed reader per process would save connections, at the price of a dispatcher
that re-issues its XREAD whenever a subscriber comes or goes.

Bounds: a stream keeps at most `max_len` events (about; MAXLEN ~) and expires
`live_ttl_s` after its last event while the run is live, `retain_s` after its final
one. A subscriber that falls more than `max_len` events behind gets EventsLost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as redis

from assistantd.events.bus import FINAL_EVENTS, Event, EventsLost, Subscription

__all__ = ["RedisEventBus"]

_NAME = b"e"
_DATA = b"d"


def _seq(entry_id: bytes) -> int:
    return int(entry_id.partition(b"-")[2])


class _RedisSubscription:
    def __init__(self, client: redis.Redis, key: str, after: int) -> None:
        self.client = client
        self.key = key
        self.pos = after

    async def next(self, timeout_s: float) -> list[Event]:
        block = max(1, int(timeout_s * 1000)) if timeout_s > 0 else None
        reply: Any = await self.client.xread({self.key: f"0-{self.pos}"}, count=1024, block=block)
        if not reply:
            return []
        # RESP2: [[key, [(id, fields), ...]]]; RESP3: {key: [[(id, fields), ...]]}.
        entries = reply[0][1] if isinstance(reply, list) else next(iter(reply.values()))[0]
        batch = [Event(_seq(eid), fields[_NAME].decode(), fields[_DATA]) for eid, fields in entries]
        if batch and batch[0].seq != self.pos + 1:
            raise EventsLost(f"events {self.pos + 1} to {batch[0].seq - 1} are no longer kept")
        if batch:
            self.pos = batch[-1].seq
        return batch


class RedisEventBus:
    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "assistantd:",
        max_len: int = 10_000,
        retain_s: int = 300,
        live_ttl_s: int = 3600,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.max_len = max_len
        self.retain_s = retain_s
        self.live_ttl_s = live_ttl_s

    def _key(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}"

    async def publish(self, run_id: str, name: str, data: bytes) -> int:
        key = self._key(run_id)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {_NAME: name, _DATA: data}, id="0-*", maxlen=self.max_len)
            pipe.expire(key, self.retain_s if name in FINAL_EVENTS else self.live_ttl_s)
            entry_id, _ = await pipe.execute()
        return _seq(entry_id)

    async def publish_many(self, run_id: str, events: Sequence[tuple[str, bytes]]) -> None:
        if not events:
            return
        key = self._key(run_id)
        async with self.client.pipeline(transaction=False) as pipe:
            for name, data in events:
                pipe.xadd(key, {_NAME: name, _DATA: data}, id="0-*", maxlen=self.max_len)
            final = events[-1][0] in FINAL_EVENTS
            pipe.expire(key, self.retain_s if final else self.live_ttl_s)
            await pipe.execute()

    @asynccontextmanager
    async def subscribe(self, run_id: str, after: int | None = None) -> AsyncIterator[Subscription]:
        key = self._key(run_id)
        if after is None:
            last: Any = await self.client.xrevrange(key, count=1)
            after = _seq(last[0][0]) if last else 0
        yield _RedisSubscription(self.client, key, after)

    async def close(self) -> None:
        await self.client.aclose()
