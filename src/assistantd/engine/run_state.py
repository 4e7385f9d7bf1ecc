"""A run's private state as the engine reads it, from rows of any age.

Rows written before `RunPrivate` existed kept one flat document: the request's options,
the engine's progress and each server tool's keys side by side. Such a row is read
into today's shape once, when the engine next loads the run: the general keys move
as they were, and each tool reads its own keys back (`ServerTool.restore`). The new
shape is saved with the run's next write; nothing rewrites rows in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from assistantd.protocol.objects import Exchange, RunPrivate
from assistantd.protocol.runs import INCLUDABLE
from assistantd.tools.base import JSON, ServerTool

__all__ = ["load_private", "tool_state", "with_tool_state"]


def _exchanges(raw: Any) -> dict[str, Exchange]:
    if not isinstance(raw, dict):
        return {}
    return {
        call_id: {
            "name": str(e.get("name", "")),
            "arguments": str(e.get("arguments", "")),
            "output": str(e.get("output") or ""),
        }
        for call_id, e in raw.items()
        if isinstance(e, dict)
    }


def load_private(raw: str | bytes, tools: Iterable[ServerTool]) -> RunPrivate:
    """The stored private document as a RunPrivate (an old flat row upgraded)."""
    flat: dict[str, Any] = orjson.loads(raw) or {}
    if "tools" in flat:
        states = flat["tools"] if isinstance(flat["tools"], dict) else {}
        include = [str(i) for i in flat.get("include") or []]
    else:
        states = {t.type: state for t in tools if (state := t.restore(flat))}
        # The old flag stood for the one value `include[]` could name then.
        include = sorted(INCLUDABLE) if flat.get("include_search_content") else []
    return {
        "additional_instructions": flat.get("additional_instructions"),
        "reasoning_effort": flat.get("reasoning_effort"),
        "include": include,
        "tools_checked": bool(flat.get("tools_checked")),
        "server_rounds": int(flat.get("server_rounds") or 0),
        "exchanges": _exchanges(flat.get("exchanges")),
        "tools": states,
        "history": str(flat.get("history") or "thread"),
        "function_calls": "end_run"
        if flat.get("function_calls") == "end_run"
        else "require_action",
        "tool_resources": flat.get("tool_resources")
        if isinstance(flat.get("tool_resources"), dict)
        else None,
    }


def tool_state(private: RunPrivate, tool: ServerTool) -> JSON:
    return private["tools"].get(tool.type) or {}


def with_tool_state(private: RunPrivate, tool: ServerTool, state: JSON) -> RunPrivate:
    """A new private document with the tool's state replaced (the old one untouched:
    a unit of work may run twice)."""
    return {**private, "tools": {**private["tools"], tool.type: state}}
