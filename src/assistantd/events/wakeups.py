"""Wake-ups: "there is work" said once, heard by every process that could do it.

A run queued through one API process should start on an idle worker anywhere within
milliseconds, not at that worker's next poll. `notify(topic)` tells this process's
listeners at once and, with Redis, every other process through one pub/sub channel
per topic. A lost message costs only latency: workers still poll as the fallback, and
claims stay exactly-once in the database (`FOR UPDATE SKIP LOCKED`), so waking every
idle worker for one run is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as redis

__all__ = ["RUNS", "LocalWakeups", "RedisWakeups", "Wakeups"]

log = logging.getLogger(__name__)

RUNS = "runs"  # a run was queued


class Wakeups(Protocol):
    def listen(self, topic: str, callback: Callable[[], None]) -> None: ...

    async def notify(self, topic: str) -> None: ...

    def start(self) -> None: ...

    async def close(self) -> None: ...


class LocalWakeups:
    """One process: listeners are called directly."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[[], None]]] = defaultdict(list)

    def listen(self, topic: str, callback: Callable[[], None]) -> None:
        self._listeners[topic].append(callback)

    def _call(self, topic: str) -> None:
        for callback in self._listeners.get(topic, ()):
            callback()

    async def notify(self, topic: str) -> None:
        self._call(topic)

    def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisWakeups(LocalWakeups):
    """Many processes: local listeners at once, the others through Redis pub/sub."""

    def __init__(self, client: redis.Redis, prefix: str = "assistantd:") -> None:
        super().__init__()
        self.client = client
        self.prefix = prefix
        # Sent with each announcement, so this process skips its own echo: its
        # listeners were called at once, and a second wake-up costs a claim that finds
        # nothing.
        self._me = uuid.uuid4().hex.encode()
        self._task: asyncio.Task[None] | None = None

    def _channel(self, topic: str) -> str:
        return f"{self.prefix}wake:{topic}"

    async def notify(self, topic: str) -> None:
        self._call(topic)
        try:
            await self.client.publish(self._channel(topic), self._me)
        except redis.RedisError as exc:  # the others find the work at their next poll
            log.warning("could not announce new work on Redis: %s", exc)

    def start(self) -> None:
        if self._task is None and self._listeners:
            self._task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        channels = {self._channel(topic): topic for topic in self._listeners}
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*channels)
                # Whatever was announced while (re)connecting: look once now.
                for topic in channels.values():
                    self._call(topic)
                async for message in pubsub.listen():
                    if message["type"] == "message" and message["data"] != self._me:
                        channel = message["channel"]
                        self._call(
                            channels[channel.decode() if isinstance(channel, bytes) else channel]
                        )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("listening for wake-ups on Redis failed (%s); retrying in 1 s", exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
