"""Publishing a run's documents on the event bus under OpenAI's event names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from assistantd.events.bus import EventBus

__all__ = ["RUN_ENDS", "publish_doc", "step_event"]

# After one of these (or requires_action) a stream of the run closes with `done`.
RUN_ENDS = frozenset(
    {
        "thread.run.completed",
        "thread.run.incomplete",
        "thread.run.failed",
        "thread.run.cancelled",
        "thread.run.expired",
        "thread.run.requires_action",
    }
)


def publish_doc(bus: EventBus, run_id: str, name: str, doc: Mapping[str, Any]) -> None:
    bus.publish(run_id, name, orjson.dumps(doc))


def step_event(step: Mapping[str, Any]) -> str:
    """thread.run.step.<status> for a step's current status."""
    return f"thread.run.step.{step['status']}"
