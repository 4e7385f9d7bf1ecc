"""A Response's stream, read off the run behind it.

The engine publishes a run's events (Assistants names, docs/contract.md "Streaming");
`ResponseEvents` turns them, one by one, into the Responses grammar
(docs/responses.md, "Streaming"):

    response.created → [response.queued] → response.in_progress
    → per output item: response.output_item.added → its own events → response.output_item.done
    → response.completed | response.incomplete | response.failed

Every event gets `sequence_number`, 0, 1, 2... The translation depends on nothing but
the run's events in order, so replaying the run's log from its start numbers every
event exactly as the first stream did: that is what lets a client resume a background
response's stream on any process (`starting_after`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from assistantd.ids import IdKind
from assistantd.services.response_docs import (
    TextMap,
    container_id,
    item_id,
    message_item,
    tool_item,
)
from assistantd.services.run_events import RUN_ENDS

__all__ = ["FINAL_TYPES", "ResponseEvents", "output_events"]

JSON = dict[str, Any]
# A lifecycle event's Run → the Response as that event shows it (no output yet).
Opening = Callable[[JSON], JSON]
# The ending event's Run → the finished Response, read from the store.
Final = Callable[[JSON], Awaitable[JSON]]

FINAL_TYPES = frozenset({"response.completed", "response.incomplete", "response.failed"})
_FINAL = {"completed": "response.completed", "incomplete": "response.incomplete"}


@dataclass
class _Item:
    output_index: int
    item: JSON
    text: TextMap | None = None
    shown: str = ""  # the message's text or the call's arguments/code, so far


def _part(text: str, annotations: list[JSON]) -> JSON:
    return {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}


@dataclass
class ResponseEvents:
    response_id: str
    thread_id: str
    background: bool
    opening: Opening
    final: Final
    seq: int = -1
    items: dict[str, _Item] = field(default_factory=dict)  # by message id or call id
    # (step id, index in the step) → call id: a call's later deltas name only its index
    positions: dict[tuple[str, int], str] = field(default_factory=dict)
    finished: bool = False

    def _event(self, kind: str, **body: Any) -> JSON:
        self.seq += 1
        return {"type": kind, "sequence_number": self.seq, **body}

    def _add(self, key: str, item: JSON, text: TextMap | None = None) -> tuple[_Item, JSON]:
        added = _Item(len(self.items), item, text)
        self.items[key] = added
        return added, self._event(
            "response.output_item.added", output_index=added.output_index, item=item
        )

    async def feed(self, name: str, data: bytes) -> list[JSON]:
        """The Responses events for one run event (often none, sometimes several)."""
        if self.finished:
            return []
        if name in RUN_ENDS:
            return await self._end(orjson.loads(data))
        if name == "thread.run.created":
            doc = self.opening(orjson.loads(data))
            out = [self._event("response.created", response=doc)]
            if self.background:
                out.append(self._event("response.queued", response=doc))
            return out
        if name == "thread.run.in_progress":
            doc = self.opening(orjson.loads(data))
            return [self._event("response.in_progress", response=doc)]
        if name == "thread.message.created":
            return self._message_opened(orjson.loads(data))
        if name == "thread.message.delta":
            return self._message_delta(orjson.loads(data))
        if name in ("thread.message.completed", "thread.message.incomplete"):
            return self._message_closed(orjson.loads(data))
        if name == "thread.run.step.delta":
            delta = orjson.loads(data)
            entries = delta["delta"]["step_details"].get("tool_calls") or []
            return [e for entry in entries for e in self._call_delta(delta["id"], entry)]
        if name.startswith("thread.run.step.") and name != "thread.run.step.in_progress":
            step = orjson.loads(data)
            if step["type"] == "tool_calls" and step["status"] != "in_progress":
                entries = step["step_details"]["tool_calls"]
                return [e for entry in entries for e in self._call_done(entry, step["status"])]
        return []

    def _message_opened(self, message: JSON) -> list[JSON]:
        item = {
            "id": message["id"],
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        opened, added = self._add(message["id"], item, TextMap(container_id(self.thread_id)))
        part = self._event(
            "response.content_part.added",
            item_id=message["id"],
            output_index=opened.output_index,
            content_index=0,
            part=_part("", []),
        )
        return [added, part]

    def _message_delta(self, delta: JSON) -> list[JSON]:
        opened = self.items.get(delta["id"])
        if opened is None or opened.text is None:
            return []
        out = []
        for part in delta["delta"].get("content") or []:
            if part.get("type") != "text":
                continue
            text, notes = opened.text.add(
                part["text"].get("value") or "", part["text"].get("annotations") or []
            )
            where = {"item_id": delta["id"], "output_index": opened.output_index}
            if text:
                opened.shown += text
                out.append(
                    self._event(
                        "response.output_text.delta",
                        **where,
                        content_index=0,
                        delta=text,
                        logprobs=[],
                    )
                )
            first = opened.text.annotations - len(notes)
            for i, note in enumerate(notes):
                out.append(
                    self._event(
                        "response.output_text.annotation.added",
                        **where,
                        content_index=0,
                        annotation_index=first + i,
                        annotation=note,
                    )
                )
        return out

    def _message_closed(self, message: JSON) -> list[JSON]:
        opened = self.items.get(message["id"])
        if opened is None:
            return []
        item = message_item(message, container_id(self.thread_id))
        parts = item["content"] or [_part("", [])]
        where = {"item_id": message["id"], "output_index": opened.output_index}
        full = parts[-1]
        done = [
            self._event(
                "response.output_text.done",
                **where,
                content_index=0,
                text=full["text"],
                logprobs=[],
            ),
            self._event("response.content_part.done", **where, content_index=0, part=full),
            self._event("response.output_item.done", output_index=opened.output_index, item=item),
        ]
        del self.items[message["id"]]
        self.items["done:" + message["id"]] = opened
        return done

    def _open_call(self, entry: JSON) -> tuple[_Item, list[JSON]]:
        call_id = entry["id"]
        kind = entry["type"]
        if kind == "function":
            item = {
                "id": item_id(IdKind.function_call_item, call_id),
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": call_id,
                "name": entry["function"].get("name", ""),
            }
            opened, added = self._add(call_id, item)
            return opened, [added]
        where: JSON
        if kind == "file_search":
            item = {
                "id": item_id(IdKind.file_search_call, call_id),
                "type": "file_search_call",
                "status": "in_progress",
                "queries": [],
                "results": None,
            }
            opened, added = self._add(call_id, item)
            where = {"output_index": opened.output_index, "item_id": item["id"]}
            return opened, [
                added,
                self._event("response.file_search_call.in_progress", **where),
                self._event("response.file_search_call.searching", **where),
            ]
        item = {
            "id": item_id(IdKind.code_interpreter_call, call_id),
            "type": "code_interpreter_call",
            "status": "in_progress",
            "code": "",
            "container_id": container_id(self.thread_id),
            "outputs": None,
        }
        opened, added = self._add(call_id, item)
        where = {"output_index": opened.output_index, "item_id": item["id"]}
        return opened, [added, self._event("response.code_interpreter_call.in_progress", **where)]

    def _call_delta(self, step_id: str, entry: JSON) -> list[JSON]:
        position = (step_id, int(entry.get("index", 0)))
        call_id = entry.get("id") or self.positions.get(position)
        if call_id is None:
            return []
        out: list[JSON] = []
        opened = self.items.get(call_id)
        if opened is None:
            if "id" not in entry or "done:" + call_id in self.items:
                return []
            self.positions[position] = call_id
            opened, out = self._open_call(entry)
        where = {"output_index": opened.output_index, "item_id": opened.item["id"]}
        if entry["type"] == "function":
            piece = entry["function"].get("arguments") or ""
            if piece:
                opened.shown += piece
                out.append(
                    self._event("response.function_call_arguments.delta", **where, delta=piece)
                )
        elif entry["type"] == "code_interpreter":
            piece = (entry.get("code_interpreter") or {}).get("input") or ""
            if piece:
                opened.shown += piece
                out.append(
                    self._event("response.code_interpreter_call_code.delta", **where, delta=piece)
                )
        return out

    def _call_done(self, entry: JSON, step_status: str) -> list[JSON]:
        out: list[JSON] = []
        opened = self.items.get(entry["id"])
        if opened is None:
            opened, out = self._open_call(entry)
        status = {"completed": "completed", "failed": "failed"}.get(step_status, "incomplete")
        item = tool_item(entry, status, {}, (), container_id(self.thread_id))
        where = {"output_index": opened.output_index, "item_id": item["id"]}
        if item["type"] == "function_call":
            out.append(
                self._event(
                    "response.function_call_arguments.done",
                    **where,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
        elif item["type"] == "file_search_call":
            out.append(self._event("response.file_search_call.completed", **where))
        else:
            out.append(
                self._event(
                    "response.code_interpreter_call_code.done", **where, code=item["code"] or ""
                )
            )
            out.append(self._event("response.code_interpreter_call.interpreting", **where))
            out.append(self._event("response.code_interpreter_call.completed", **where))
        out.append(
            self._event("response.output_item.done", output_index=opened.output_index, item=item)
        )
        del self.items[entry["id"]]
        self.items["done:" + entry["id"]] = opened
        opened.item = item
        return out

    async def _end(self, run: JSON) -> list[JSON]:
        self.finished = True
        doc = await self.final(run)
        kind = _FINAL.get(doc["status"], "response.failed")
        return [self._event(kind, response=doc)]


def output_events(doc: JSON, background: bool) -> list[JSON]:
    """The whole stream of a finished response, made from its document, for a replay
    asked after the run's own events are no longer kept."""
    seq = -1

    def event(kind: str, **body: Any) -> JSON:
        nonlocal seq
        seq += 1
        return {"type": kind, "sequence_number": seq, **body}

    opening = {**doc, "status": "queued" if background else "in_progress", "output": []}
    opening.pop("usage", None)
    opening["completed_at"] = None
    out = [event("response.created", response=opening)]
    if background:
        out.append(event("response.queued", response=opening))
    out.append(event("response.in_progress", response={**opening, "status": "in_progress"}))
    for index, item in enumerate(doc["output"]):
        out.append(
            event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress"},
            )
        )
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            for c, part in enumerate(item["content"]):
                out.append(
                    event(
                        "response.content_part.added", **where, content_index=c, part=_part("", [])
                    )
                )
                if part["text"]:
                    out.append(
                        event(
                            "response.output_text.delta",
                            **where,
                            content_index=c,
                            delta=part["text"],
                            logprobs=[],
                        )
                    )
                for a, note in enumerate(part["annotations"]):
                    out.append(
                        event(
                            "response.output_text.annotation.added",
                            **where,
                            content_index=c,
                            annotation_index=a,
                            annotation=note,
                        )
                    )
                out.append(
                    event(
                        "response.output_text.done",
                        **where,
                        content_index=c,
                        text=part["text"],
                        logprobs=[],
                    )
                )
                out.append(event("response.content_part.done", **where, content_index=c, part=part))
        elif item["type"] == "function_call":
            out.append(
                event("response.function_call_arguments.delta", **where, delta=item["arguments"])
            )
            out.append(
                event(
                    "response.function_call_arguments.done",
                    **where,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
        elif item["type"] == "file_search_call":
            out.append(event("response.file_search_call.in_progress", **where))
            out.append(event("response.file_search_call.searching", **where))
            out.append(event("response.file_search_call.completed", **where))
        elif item["type"] == "code_interpreter_call":
            out.append(event("response.code_interpreter_call.in_progress", **where))
            out.append(
                event(
                    "response.code_interpreter_call_code.delta", **where, delta=item["code"] or ""
                )
            )
            out.append(
                event("response.code_interpreter_call_code.done", **where, code=item["code"] or "")
            )
            out.append(event("response.code_interpreter_call.interpreting", **where))
            out.append(event("response.code_interpreter_call.completed", **where))
        out.append(event("response.output_item.done", output_index=index, item=item))
    out.append(event(_FINAL.get(doc["status"], "response.failed"), response=doc))
    return out
