"""Per-project rate limits: requests per minute and model tokens per minute.

Limits are set per project (`assistantd projects limits NAME --requests-per-minute N
--tokens-per-minute N`) and read, like API keys, through a cache refreshed every
`ttl_s`. Every /v1 request of a limited project takes one request from its bucket;
a request that starts a model turn (creating a run, submitting tool outputs) also
needs tokens left in its token bucket, and the tokens each model turn used are taken
when it ends. Over either limit the request answers 429 in OpenAI's shape, with the
`x-ratelimit-*` headers OpenAI sent (on every response of a limited project) and
`retry-after-ms`, which the SDK's retry waits for.

With Redis the buckets are shared by every process; without it each process keeps
its own, so N API processes allow up to N times the limit (documented). If Redis
fails, requests are served without limits (logged) rather than refused.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from assistantd import clock
from assistantd.errors import InvalidRequest, RateLimited
from assistantd.limits.buckets import Buckets, Level, Take
from assistantd.services.api_keys import check_project_name
from assistantd.store.db import Database
from assistantd.store.repos.projects import ProjectLimits, projects_repo

__all__ = ["RateLimiter", "duration"]

log = logging.getLogger(__name__)
Headers = list[tuple[bytes, bytes]]


def duration(seconds: float) -> str:
    """OpenAI's way of writing a reset time: 20ms, 1.5s, 6m0s."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{round(rest, 3):g}s"


def _headers(kind: str, level: Level) -> Headers:
    return [
        (b"x-ratelimit-limit-" + kind.encode(), str(level.capacity).encode()),
        (b"x-ratelimit-remaining-" + kind.encode(), str(level.remaining).encode()),
        (b"x-ratelimit-reset-" + kind.encode(), duration(level.reset_s).encode()),
    ]


class RateLimiter:
    def __init__(
        self, db: Database, buckets: Buckets, *, ttl_s: float, prefix: str = "assistantd:"
    ) -> None:
        self.db = db
        self.buckets = buckets
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.repo = projects_repo
        self._limits: dict[str, ProjectLimits] = {}
        self._loaded_at = float("-inf")
        self._warned_at = float("-inf")
        self._lock = asyncio.Lock()

    async def limits_for(self, project: str) -> ProjectLimits | None:
        if time.monotonic() - self._loaded_at >= self.ttl_s:
            async with self._lock:
                if time.monotonic() - self._loaded_at >= self.ttl_s:
                    self._limits = await self.db.read(self.repo.all_limits)
                    self._loaded_at = time.monotonic()
        return self._limits.get(project)

    def _key(self, project: str, kind: str) -> str:
        return f"{self.prefix}limit:{project}:{kind}"

    async def admit(self, project: str, *, uses_model: bool = False) -> Headers:
        """Take this request from the project's limits: the headers to answer with.
        Raises RateLimited (429) when a limit is spent."""
        limits = await self.limits_for(project)
        if limits is None:
            return []
        kinds: list[str] = []
        takes: list[Take] = []
        if limits.requests_per_minute:
            kinds.append("requests")
            takes.append(Take(self._key(project, "requests"), limits.requests_per_minute))
        if limits.tokens_per_minute:
            kinds.append("tokens")
            key, capacity = self._key(project, "tokens"), limits.tokens_per_minute
            takes.append(Take(key, capacity, 0, 1) if uses_model else Take.peek(key, capacity))
        try:
            levels = await self.buckets.take(takes)
        except Exception as exc:
            # Redis is down: serve without limits rather than fail every request of
            # every limited project; the log says so (at most once a minute).
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                log.warning("rate limits not applied: their store failed: %r", exc)
            return []
        headers = [
            h for kind, level in zip(kinds, levels, strict=True) for h in _headers(kind, level)
        ]
        refused = [(k, lv) for k, lv in zip(kinds, levels, strict=True) if lv.refused]
        if refused:
            kind, level = max(refused, key=lambda item: item[1].retry_after_s)
            wait = max(level.retry_after_s, 0.001)
            named = "requests per min (RPM)" if kind == "requests" else "tokens per min (TPM)"
            used = level.capacity - level.remaining
            raise RateLimited(
                f"Rate limit reached for {named} in project '{project}': Limit "
                f"{level.capacity}, Used {used}, Requested 1. Please try again in "
                f"{duration(wait)}.",
                kind=kind,
                headers={
                    **{k.decode(): v.decode() for k, v in headers},
                    "retry-after": str(math.ceil(wait)),
                    "retry-after-ms": str(math.ceil(wait * 1000)),
                },
            )
        return headers

    async def spend_tokens(self, project: str, tokens: int) -> None:
        """A model turn of `project` used `tokens` (prompt and completion)."""
        limits = await self.limits_for(project)
        if limits is None or not limits.tokens_per_minute or tokens <= 0:
            return
        take = Take.debit(self._key(project, "tokens"), limits.tokens_per_minute, tokens)
        try:
            await self.buckets.take([take])
        except Exception:  # the run's answer matters more than its accounting
            log.exception("could not count %d tokens against project %s", tokens, project)

    async def set_limits(
        self, project: str, requests_per_minute: int | None, tokens_per_minute: int | None
    ) -> ProjectLimits:
        check_project_name(project)
        for name, value in (
            ("requests_per_minute", requests_per_minute),
            ("tokens_per_minute", tokens_per_minute),
        ):
            if value is not None and value < 1:
                raise InvalidRequest(f"{name} must be at least 1 (or unset).", param=name)
        limits = ProjectLimits(project, requests_per_minute, tokens_per_minute)
        now = clock.now()
        await self.db.write(lambda conn: self.repo.set_limits(conn, limits, now))
        self._loaded_at = float("-inf")
        return limits

    async def all_limits(self) -> list[ProjectLimits]:
        return list((await self.db.read(self.repo.all_limits)).values())
