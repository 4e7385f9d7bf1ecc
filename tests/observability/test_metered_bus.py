"""MeteredBus counts what runs do from the events they publish, and passes every event
through unchanged: the engine holds no metrics code, and a stream reads the same bus."""

from __future__ import annotations

import time

import orjson
from prometheus_client import REGISTRY

from assistantd.events.bus import InMemoryEventBus
from assistantd.observability.metrics import MeteredBus


def _finished(status: str) -> float:
    value = REGISTRY.get_sample_value("assistantd_runs_finished_total", {"status": status})
    return value or 0.0


def _run(status: str, **times: int) -> bytes:
    now = int(time.time())
    doc = {"id": "run_1", "status": status, "created_at": now, "started_at": now, "usage": None}
    return orjson.dumps({**doc, **times})


async def test_final_events_count_by_status_and_pass_through_unchanged() -> None:
    bus = MeteredBus(InMemoryEventBus(retain_s=60))
    before = _finished("completed"), _finished("failed")
    async with bus.subscribe("run_1", after=0) as reader:
        await bus.publish("run_1", "thread.run.in_progress", _run("in_progress"))
        await bus.publish("run_1", "thread.message.delta", b'{"delta":{}}')
        done = _run("completed", completed_at=int(time.time()))
        await bus.publish_many("run_1", [("thread.run.completed", done)])
        events = await reader.next(0)
    assert [e.name for e in events] == [
        "thread.run.in_progress",
        "thread.message.delta",
        "thread.run.completed",
    ]
    assert events[-1].data == done
    assert (_finished("completed"), _finished("failed")) == (before[0] + 1, before[1])
    await bus.close()


def test_run_metrics_carry_no_tenant_or_run_label() -> None:
    """Labels are the operator's vocabulary (status), never a project or an id: another
    tenant's names must not show, and series must not grow with traffic."""
    for metric in REGISTRY.collect():
        if metric.name.startswith("assistantd_run"):
            for sample in metric.samples:
                assert set(sample.labels) <= {"status", "le"}
