"""Prometheus metrics (`GET /metrics`), safe with several processes on one host.

With `PROMETHEUS_MULTIPROC_DIR` set before the process starts (`serve --workers N`
sets it; the cluster demo shares one across API processes and workers), every process
writes its samples there and `/metrics` on any API process sums them, as
prometheus-client's multiprocess mode does. Without it the process reports its own.
Across machines, scrape each machine.

What is counted where:
- requests by route template and status, with latency: the request middleware;
- runs by final status, run duration, queue wait: `MeteredBus`, which watches the run
  events a process publishes (every state change is one), so the engine stays free of
  metrics code;
- model tokens in and out by model: the executor's usage hook;
- active streams: the SSE relay;
- queue depth, oldest queued run, ingestion backlog: read from the database at scrape.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from assistantd.events.bus import FINAL_EVENTS, EventBus, Subscription

__all__ = [
    "ACTIVE_STREAMS",
    "CONTENT_TYPE",
    "REQUESTS",
    "REQUEST_SECONDS",
    "TOKENS",
    "MeteredBus",
    "exposition",
]

log = logging.getLogger("assistantd.runs")
CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_RUN_SECONDS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

REQUESTS = Counter(
    "assistantd_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "assistantd_http_request_duration_seconds",
    "Time to answer a request (a stream: until it ends)",
    ["method", "route"],
    buckets=_LATENCY,
)
RUNS = Counter("assistantd_runs_finished", "Runs that reached a final status", ["status"])
RUN_SECONDS = Histogram(
    "assistantd_run_duration_seconds",
    "From a run's start to its final status (whole seconds, as runs record them)",
    buckets=_RUN_SECONDS,
)
QUEUE_WAIT = Histogram(
    "assistantd_run_queue_wait_seconds",
    "From a run's creation to its first start by a worker",
    buckets=_LATENCY,
)
TOKENS = Counter("assistantd_model_tokens", "Model tokens by model", ["model", "direction"])
ACTIVE_STREAMS = Gauge(
    "assistantd_active_streams", "Server-sent event streams open", multiprocess_mode="livesum"
)


class MeteredBus:
    """An EventBus that counts the run state changes published through it."""

    def __init__(self, inner: EventBus) -> None:
        self.inner = inner

    def _observe(self, name: str, data: bytes) -> None:
        if name in FINAL_EVENTS:
            run = orjson.loads(data)
            RUNS.labels(run["status"]).inc()
            log.info("run %s %s", run["id"], run["status"])
            ended = run.get("completed_at") or run.get("failed_at") or run.get("cancelled_at")
            ended = ended or run.get("expired_at") or run.get("incomplete_at")
            if run.get("started_at") and ended:
                RUN_SECONDS.observe(max(0, ended - run["started_at"]))
        elif name == "thread.run.in_progress":
            run = orjson.loads(data)
            if run.get("usage") is None:  # its first start, not a resume after tool outputs
                QUEUE_WAIT.observe(max(0.0, time.time() - run["created_at"]))

    async def publish(self, run_id: str, name: str, data: bytes) -> int:
        seq = await self.inner.publish(run_id, name, data)
        self._observe(name, data)
        return seq

    async def publish_many(self, run_id: str, events: Sequence[tuple[str, bytes]]) -> None:
        await self.inner.publish_many(run_id, events)
        for name, data in events:
            self._observe(name, data)

    def subscribe(
        self, run_id: str, after: int | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        return self.inner.subscribe(run_id, after)

    async def close(self) -> None:
        await self.inner.close()


class _Snapshot:
    """Gauges read from the database for this scrape."""

    def __init__(self, values: dict[str, tuple[str, float]]) -> None:
        self.values = values

    def collect(self) -> Any:
        for name, (doc, value) in self.values.items():
            yield GaugeMetricFamily(name, doc, value=value)


def exposition(database_gauges: dict[str, tuple[str, float]]) -> bytes:
    """The text format: this host's processes (or this process), plus `database_gauges`."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    snapshot = CollectorRegistry(auto_describe=False)
    snapshot.register(_Snapshot(database_gauges))
    return text + generate_latest(snapshot)
