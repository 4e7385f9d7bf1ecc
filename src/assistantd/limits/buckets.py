"""Token buckets: `capacity` per minute, refilled continuously, as OpenAI's limits were.

A bucket holds up to `capacity` units and gains capacity/60 per second. A `Take` asks
for `need` units to be there and then removes `cost` (a request: need 1, cost 1; a run
checks its project's token bucket with need 1, cost 0, and the tokens it used are
taken afterwards with `Take.debit`, which may leave the bucket below zero, down to
-capacity, so a run that spent a minute's tokens waits a minute). Several takes are
all-or-nothing: a request refused for tokens does not spend a request.

MemoryBuckets serve one process. RedisBuckets keep the buckets in Redis and update
them in one Lua script (atomic, one round trip, Redis's clock for every process), so
a project's limit holds across every API process.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as redis

__all__ = ["Buckets", "Level", "MemoryBuckets", "RedisBuckets", "Take"]

_NEVER_REFUSED = -1e18


@dataclass(frozen=True, slots=True)
class Take:
    key: str
    capacity: int
    cost: float = 1.0
    need: float = 1.0

    @classmethod
    def peek(cls, key: str, capacity: int) -> Take:
        """Read the level, take nothing, refuse nothing (for the response headers)."""
        return cls(key, capacity, 0.0, _NEVER_REFUSED)

    @classmethod
    def debit(cls, key: str, capacity: int, cost: float) -> Take:
        return cls(key, capacity, cost, _NEVER_REFUSED)


@dataclass(frozen=True, slots=True)
class Level:
    """A bucket after a take: what the x-ratelimit-* headers say."""

    capacity: int
    tokens: float  # may be negative after a debit
    refused: bool  # this take (with the others) was refused
    retry_after_s: float  # until it would not be; 0 if it was not

    @property
    def remaining(self) -> int:
        return max(0, int(self.tokens))

    @property
    def reset_s(self) -> float:
        """Until the bucket is full again."""
        return max(0.0, (self.capacity - self.tokens) * 60.0 / self.capacity)


def _levels(takes: Sequence[Take], tokens: Sequence[float], ok: bool) -> list[Level]:
    levels = []
    for take, level in zip(takes, tokens, strict=True):
        short = 0.0 if ok else max(0.0, take.need - level) * 60.0 / take.capacity
        levels.append(Level(take.capacity, level, not ok and level < take.need, short))
    return levels


class Buckets(Protocol):
    async def take(self, takes: Sequence[Take]) -> list[Level]: ...


class MemoryBuckets:
    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}  # key → (tokens, at)

    async def take(self, takes: Sequence[Take]) -> list[Level]:
        now = time.monotonic()
        levels = []
        for take in takes:
            tokens, at = self._state.get(take.key, (float(take.capacity), now))
            levels.append(min(float(take.capacity), tokens + (now - at) * take.capacity / 60.0))
        ok = all(level >= take.need for take, level in zip(takes, levels, strict=True))
        if ok:
            levels = [max(-t.capacity, lv - t.cost) for t, lv in zip(takes, levels, strict=True)]
        for take, level in zip(takes, levels, strict=True):
            self._state[take.key] = (level, now)
        return _levels(takes, levels, ok)


# KEYS: the buckets; ARGV: capacity, cost, need for each. Returns [ok, level...] as
# strings (a Lua number returned to Redis would be truncated to an integer).
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local ok = 1
for i = 1, #KEYS do
  local cap = tonumber(ARGV[i * 3 - 2])
  local state = redis.call('HMGET', KEYS[i], 't', 'at')
  local tokens = tonumber(state[1]) or cap
  local at = tonumber(state[2]) or now
  tokens = math.min(cap, tokens + math.max(0, now - at) * cap / 60000)
  levels[i] = tokens
  if tokens < tonumber(ARGV[i * 3]) then ok = 0 end
end
local out = {tostring(ok)}
for i = 1, #KEYS do
  local cap = tonumber(ARGV[i * 3 - 2])
  if ok == 1 then levels[i] = math.max(-cap, levels[i] - tonumber(ARGV[i * 3 - 1])) end
  redis.call('HSET', KEYS[i], 't', tostring(levels[i]), 'at', now)
  redis.call('PEXPIRE', KEYS[i], 180000)
  out[i + 1] = tostring(levels[i])
end
return out
"""


class RedisBuckets:
    def __init__(self, client: redis.Redis) -> None:
        self._script: Any = client.register_script(_SCRIPT)

    async def take(self, takes: Sequence[Take]) -> list[Level]:
        args: list[float] = []
        for take in takes:
            args += [take.capacity, take.cost, take.need]
        reply = await self._script(keys=[t.key for t in takes], args=args)
        ok = reply[0] in (b"1", "1")
        return _levels(takes, [float(level) for level in reply[1:]], ok)
