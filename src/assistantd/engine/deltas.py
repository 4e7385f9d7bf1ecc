"""The `*.delta` events a turn publishes while it streams, built in one place."""

from __future__ import annotations

from typing import Any

import orjson

from assistantd.engine.turn import Turn
from assistantd.events.bus import EventBus

__all__ = ["step_delta", "text_delta", "text_event"]


def text_event(
    turn: Turn, value: str, annotations: list[dict[str, Any]] | None
) -> tuple[str, bytes]:
    assert turn.message is not None
    text = {"value": value, "annotations": annotations or []}
    delta = {
        "id": turn.message["id"],
        "object": "thread.message.delta",
        "delta": {"content": [{"index": turn.text_index, "type": "text", "text": text}]},
    }
    return "thread.message.delta", orjson.dumps(delta)


async def text_delta(
    bus: EventBus, turn: Turn, value: str, annotations: list[dict[str, Any]] | None = None
) -> None:
    """A piece of the answer's text part (after any image_file parts leading it)."""
    await bus.publish(turn.run["id"], *text_event(turn, value, annotations))


async def step_delta(bus: EventBus, turn: Turn, entry: dict[str, Any]) -> None:
    """A change to one entry (by its `index`) of the open tool_calls step."""
    assert turn.tool_step is not None
    delta = {
        "id": turn.tool_step["id"],
        "object": "thread.run.step.delta",
        "delta": {"step_details": {"type": "tool_calls", "tool_calls": [entry]}},
    }
    await bus.publish(turn.run["id"], "thread.run.step.delta", orjson.dumps(delta))
