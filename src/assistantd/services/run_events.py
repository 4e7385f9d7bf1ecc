"""Publishing a run's documents on the event bus under OpenAI's event names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from assistantd.events.bus import EventBus

__all__ = ["RUN_ENDS", "ending_docs", "publish_doc", "publish_docs", "step_event"]

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


async def publish_doc(bus: EventBus, run_id: str, name: str, doc: Mapping[str, Any]) -> None:
    await bus.publish(run_id, name, orjson.dumps(doc))


async def publish_docs(
    bus: EventBus, run_id: str, docs: Iterable[tuple[str, Mapping[str, Any]]]
) -> None:
    """Several documents in order, in one round trip to the bus."""
    await bus.publish_many(run_id, [(name, orjson.dumps(doc)) for name, doc in docs])


def ending_docs(
    run: Mapping[str, Any],
    steps: Iterable[Mapping[str, Any]],
    messages: Iterable[Mapping[str, Any]] = (),
) -> list[tuple[str, Mapping[str, Any]]]:
    """The events of a run that stopped: its messages and steps as closed, then the run."""
    docs: list[tuple[str, Mapping[str, Any]]] = [
        (f"thread.message.{m['status']}", m) for m in messages
    ]
    docs += [(step_event(s), s) for s in steps]
    docs.append((f"thread.run.{run['status']}", run))
    return docs


def step_event(step: Mapping[str, Any]) -> str:
    """thread.run.step.<status> for a step's current status."""
    return f"thread.run.step.{step['status']}"
