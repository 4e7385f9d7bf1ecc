"""Reading a streamed run as raw server-sent events, and checking them against the spec."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tests.contract import schema

# Event name → the schema its data must match (docs/contract.md, "Streaming").
_SCHEMAS = {
    "thread.created": "ThreadObject",
    "thread.run.step.delta": "RunStepDeltaObject",
    "thread.message.delta": "MessageDeltaObject",
    "error": "Error",
}


def schema_for(name: str) -> str:
    if name in _SCHEMAS:
        return _SCHEMAS[name]
    if name.startswith("thread.run.step."):
        return "RunStepObject"
    if name.startswith("thread.run."):
        return "RunObject"
    if name.startswith("thread.message."):
        return "MessageObject"
    raise AssertionError(f"unknown event {name}")


@dataclass
class Event:
    name: str
    raw: str
    at: float  # seconds since the request was sent
    seq: int | None = None  # the frame's `id:`, its number in the run

    @property
    def data(self) -> Any:
        return orjson.loads(self.raw)


def read_events(
    response: httpx.Response, started: float, stop_after: str | None = None
) -> list[Event]:
    events: list[Event] = []
    name = None
    seq = None
    for line in response.iter_lines():
        if line.startswith("id: "):
            seq = int(line[4:])
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name is not None:
            events.append(Event(name, line[6:], time.monotonic() - started, seq))
            if name == stop_after:
                break
            name = seq = None
    return events


def post_stream(base_url: str, path: str, body: dict[str, Any], timeout: float = 60) -> list[Event]:
    started = time.monotonic()
    with httpx.stream(
        "POST", f"{base_url}/v1{path}", json={**body, "stream": True}, timeout=timeout
    ) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        return read_events(r, started)


def validate(events: list[Event]) -> None:
    """Every event's data matches its schema, and the stream ends with done / [DONE]."""
    assert events[-1].name == "done"
    assert events[-1].raw == "[DONE]"
    for event in events[:-1]:
        errors = list(
            schema._validator(f"#/components/schemas/{schema_for(event.name)}").iter_errors(
                event.data
            )
        )
        assert not errors, f"{event.name}: {errors[0]}"


def names(events: list[Event]) -> list[str]:
    """Event names with runs of deltas collapsed to one `…delta*`."""
    out: list[str] = []
    for event in events:
        name = event.name + "*" if event.name.endswith(".delta") else event.name
        if not (out and out[-1] == name and name.endswith("*")):
            out.append(name)
    return out
