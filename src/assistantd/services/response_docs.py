"""The Response object, read from the run behind it.

A response's output is what its run wrote: each message_creation step is a `message`
item, each tool call of a tool_calls step a `function_call`, `file_search_call` or
`code_interpreter_call` item, in the order the steps were made. Nothing is written
twice: the same reading serves GET, the final streamed event, and the history a later
response in the chain is prompted with.

Citations differ between the surfaces (docs/responses.md, "Citations"): an Assistants
message keeps the `【k:i†file】` marker in its text and cites its span; a Response's text
has no marker and cites the point where it stood (`file_citation{file_id, filename,
index}`). `convert_text` maps one onto the other, and `TextMap` does it as text streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from assistantd.ids import IdKind
from assistantd.protocol.objects import RunDoc
from assistantd.store.repos.responses import ResponseRecord, RunOutput

__all__ = [
    "TextMap",
    "container_id",
    "convert_text",
    "item_id",
    "message_item",
    "output_items",
    "response_doc",
    "response_status",
    "step_tool_items",
    "tool_item",
]

JSON = dict[str, Any]

# Run status → Response status. A run asked to stop shows as the cancel made it.
_STATUS = {
    "queued": "queued",
    "in_progress": "in_progress",
    "cancelling": "cancelled",
    "cancelled": "cancelled",
    "requires_action": "completed",
    "completed": "completed",
    "incomplete": "incomplete",
    "failed": "failed",
    "expired": "failed",
}
_ERROR_CODES = frozenset({"server_error", "rate_limit_exceeded", "invalid_prompt"})
_STEP_STATUS = {"in_progress": "in_progress", "completed": "completed", "failed": "failed"}


def item_id(kind: IdKind, call_id: str) -> str:
    """A tool call's item id, made from its call id so that every reader agrees."""
    return kind.value + call_id.removeprefix(IdKind.tool_call.value)


def response_status(run: RunDoc) -> str:
    if run["status"] == "incomplete" and _over_window(run):
        return "failed"
    return _STATUS.get(run["status"], "failed")


def _over_window(run: RunDoc) -> bool:
    details = run["incomplete_details"] or {}
    return details.get("reason") == "max_prompt_tokens"


def _error(run: RunDoc) -> JSON | None:
    if run["status"] == "incomplete" and _over_window(run):
        return {
            "code": "invalid_prompt",
            "message": "The input does not fit in the model's context window; set "
            "truncation to 'auto' or send less.",
        }
    error = run["last_error"]
    if run["status"] == "expired":
        return {"code": "server_error", "message": "The response expired before it finished."}
    if error is None or run["status"] != "failed":
        return None
    code = error["code"] if error["code"] in _ERROR_CODES else "server_error"
    return {"code": code, "message": error["message"]}


def _incomplete(run: RunDoc) -> JSON | None:
    if run["status"] != "incomplete" or _over_window(run):
        return None
    return {"reason": "max_output_tokens"}


def _filename(marker: str) -> str:
    """The file name a citation marker shows: `【0:1†report.pdf】` → `report.pdf`."""
    head, _, tail = marker.partition("†")
    return tail.rstrip("】") if tail else head.strip("【】")


@dataclass
class TextMap:
    """An Assistants text as it grows, mapped to the Responses text: citation markers
    removed, each becoming a point citation, other spans shifted to match."""

    container_id: str
    removed: list[tuple[int, int]] = field(default_factory=list)  # (start, length)
    original: int = 0  # length of the Assistants text so far
    annotations: int = 0  # Responses annotations given so far

    def _at(self, position: int) -> int:
        return position - sum(length for start, length in self.removed if start < position)

    def add(self, value: str, notes: Sequence[JSON]) -> tuple[str, list[JSON]]:
        """A delta's text and annotations (Assistants form, spans in the whole text) as
        the Responses text to append and the annotations to add."""
        start = self.original
        cited = sorted(
            (n["start_index"], n["end_index"]) for n in notes if n["type"] == "file_citation"
        )
        kept, cursor = [], start
        for begin, end in cited:
            kept.append(value[cursor - start : begin - start])
            cursor = end
        kept.append(value[cursor - start :])
        out: list[JSON] = []
        for note in notes:
            if note["type"] == "file_citation":
                out.append(
                    {
                        "type": "file_citation",
                        "file_id": note["file_citation"]["file_id"],
                        "filename": _filename(note.get("text") or ""),
                        "index": self._at(note["start_index"]),
                    }
                )
                self.removed.append((note["start_index"], note["end_index"] - note["start_index"]))
            elif note["type"] == "file_path":
                out.append(
                    {
                        "type": "container_file_citation",
                        "container_id": self.container_id,
                        "file_id": note["file_path"]["file_id"],
                        "filename": (note.get("text") or "").rsplit("/", 1)[-1],
                        "start_index": self._at(note["start_index"]),
                        "end_index": self._at(note["end_index"]),
                    }
                )
        self.original += len(value)
        self.annotations += len(out)
        return "".join(kept), out


def convert_text(
    value: str, annotations: Sequence[JSON], container_id: str
) -> tuple[str, list[JSON]]:
    """A whole Assistants text and its annotations in the Responses form."""
    return TextMap(container_id).add(value, annotations)


def container_id(thread_id: str) -> str:
    """code_interpreter's session is per thread; a response's thread is its own."""
    return "cntr_" + thread_id.removeprefix(IdKind.thread.value)


def message_item(message: JSON, container: str) -> JSON:
    content: list[JSON] = []
    for part in message["content"]:
        if part["type"] != "text":
            continue  # images code_interpreter showed are its call's outputs here
        text, annotations = convert_text(
            part["text"]["value"], part["text"]["annotations"], container
        )
        content.append(
            {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}
        )
    status = message["status"]
    return {
        "id": message["id"],
        "type": "message",
        "status": status,
        "content": content,
        "role": "assistant",
    }


def _queries(exchanges: JSON, call_id: str) -> list[str]:
    exchange = exchanges.get(call_id) or {}
    try:
        query = orjson.loads(exchange.get("arguments") or "{}").get("query")
    except (ValueError, AttributeError):
        query = None
    return [query] if isinstance(query, str) and query else []


def tool_item(
    entry: JSON, status: str, exchanges: JSON, include: Sequence[str], container: str
) -> JSON:
    call_id = entry["id"]
    if entry["type"] == "function":
        return {
            "id": item_id(IdKind.function_call_item, call_id),
            "type": "function_call",
            "status": "completed",
            "arguments": entry["function"]["arguments"],
            "call_id": call_id,
            "name": entry["function"]["name"],
        }
    if entry["type"] == "file_search":
        results = None
        if "file_search_call.results" in include:
            results = [
                {
                    "file_id": r["file_id"],
                    "filename": r.get("file_name", ""),
                    "score": r.get("score", 0.0),
                    "text": "".join(c.get("text", "") for c in r.get("content") or []),
                    "attributes": r.get("attributes") or {},
                }
                for r in entry["file_search"].get("results") or []
            ]
        return {
            "id": item_id(IdKind.file_search_call, call_id),
            "type": "file_search_call",
            "status": "searching" if status == "in_progress" else status,
            "queries": _queries(exchanges, call_id),
            "results": results,
        }
    details = entry.get("code_interpreter") or {}
    outputs = None
    if "code_interpreter_call.outputs" in include:
        outputs = []
        for out in details.get("outputs") or []:
            if out["type"] == "logs":
                outputs.append({"type": "logs", "logs": out["logs"]})
            elif out["type"] == "image":
                file_id = out["image"]["file_id"]
                outputs.append({"type": "image", "url": f"/v1/files/{file_id}/content"})
    return {
        "id": item_id(IdKind.code_interpreter_call, call_id),
        "type": "code_interpreter_call",
        "status": "interpreting" if status == "in_progress" else status,
        "code": details.get("input", ""),
        "container_id": container,
        "outputs": outputs,
    }


def step_tool_items(
    step: JSON, exchanges: JSON, include: Sequence[str], container: str
) -> list[JSON]:
    """A tool_calls step's calls as items ([] for a message_creation step)."""
    if step["type"] != "tool_calls":
        return []
    status = _STEP_STATUS.get(step["status"], "incomplete")
    calls = step["step_details"]["tool_calls"]
    return [tool_item(entry, status, exchanges, include, container) for entry in calls]


def output_items(output: RunOutput, thread_id: str, include: Sequence[str]) -> list[JSON]:
    private = orjson.loads(output.private) or {}
    exchanges = private.get("exchanges") or {}
    messages = {m["id"]: m for m in map(orjson.loads, output.messages)}
    container = container_id(thread_id)
    items: list[JSON] = []
    for text in output.steps:
        step = orjson.loads(text)
        details = step["step_details"]
        if step["type"] == "message_creation":
            message = messages.get(details["message_creation"]["message_id"])
            if message is not None:
                items.append(message_item(message, container))
            continue
        items += step_tool_items(step, exchanges, include, container)
    return items


def _usage(run: RunDoc) -> JSON | None:
    usage = run["usage"]
    if usage is None:
        return None
    return {
        "input_tokens": usage["prompt_tokens"],
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": usage["completion_tokens"],
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage["total_tokens"],
    }


def response_doc(record: ResponseRecord, output: RunOutput, include: Sequence[str]) -> JSON:
    """The Response object: the request's fields as it echoes them, and its run's state."""
    echo: JSON = orjson.loads(record.doc)
    run: RunDoc = orjson.loads(output.run)
    status = response_status(run)
    done = status not in ("queued", "in_progress")
    doc = {
        "id": record.id,
        "object": "response",
        "created_at": echo.pop("created_at"),
        "status": status,
        "background": echo.pop("background"),
        "completed_at": run["completed_at"] if status == "completed" else None,
        "error": _error(run),
        "incomplete_details": _incomplete(run),
        "instructions": echo.pop("instructions"),
        "max_output_tokens": echo.pop("max_output_tokens"),
        "max_tool_calls": echo.pop("max_tool_calls"),
        "model": echo.pop("model"),
        "output": output_items(output, record.thread_id, include),
        "parallel_tool_calls": echo.pop("parallel_tool_calls"),
        "previous_response_id": record.previous_response_id,
        "reasoning": echo.pop("reasoning"),
        "store": echo.pop("store"),
        "temperature": echo.pop("temperature"),
        "text": echo.pop("text"),
        "tool_choice": echo.pop("tool_choice"),
        "tools": echo.pop("tools"),
        "top_p": echo.pop("top_p"),
        "truncation": echo.pop("truncation"),
        "usage": _usage(run) if done else None,
        "metadata": echo.pop("metadata"),
        **echo,
    }
    if doc["usage"] is None:
        del doc["usage"]  # an object when present, never null (the schema's rule)
    return doc
