"""One conversation, two surfaces: thread messages and run steps as Responses items,
and items written through the Conversations API or a response as what the Assistants
API reads back (docs/conversations.md, "A thread is a conversation").

- A user message's text is `input_text`, its `image_file` an `input_image` with the
  File's id, its attachments `input_file` parts; an assistant message is the output
  message a response shows (services/response_docs.py), citations converted.
- A run's tool calls are the items a response shows for them; a function call that was
  answered (`submit_tool_outputs`) is followed by its `function_call_output`.
- Written the other way, user and assistant messages become thread messages; every
  other item (system and developer messages, function calls and outputs, reasoning)
  is stored as it is, in the conversation only: the Assistants API has no place for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistantd.ids import IdKind, id_key, new_id
from assistantd.protocol.objects import MessageDoc
from assistantd.services.response_docs import item_id, message_item, step_tool_items

__all__ = [
    "item_key",
    "message_doc_of",
    "mint",
    "step_items",
    "thread_message_item",
    "to_messages",
]

JSON = dict[str, Any]

# New ids for items written to a conversation, by type: an item's id is also where
# it stands in the conversation (ids.id_key), so a client's own ids are not kept.
_PREFIX = {
    "message": IdKind.message,
    "function_call": IdKind.function_call_item,
    "function_call_output": IdKind.function_call_output_item,
    "reasoning": IdKind.reasoning_item,
    "file_search_call": IdKind.file_search_call,
    "code_interpreter_call": IdKind.code_interpreter_call,
}
_OUTPUT_MARK = "o"  # a call's output stands right after the call


def item_key(value: str) -> str:
    """Where the item with this id stands (a function call's output: after its call)."""
    key = id_key(value)
    return key + _OUTPUT_MARK if value.startswith(IdKind.function_call_output_item.value) else key


def mint(item: JSON) -> JSON:
    """The item with a new id of its type."""
    return {**item, "id": new_id(_PREFIX[item["type"]])}


def to_messages(item: JSON) -> bool:
    """Whether the item is kept as a thread message (what both surfaces read)."""
    return item["type"] == "message" and item["role"] in ("user", "assistant")


def _user_content(doc: MessageDoc) -> list[JSON]:
    content: list[JSON] = []
    for part in doc["content"]:
        kind = part["type"]
        if kind == "text":
            content.append({"type": "input_text", "text": part["text"]["value"]})
        elif kind == "image_file":
            image = part["image_file"]
            content.append(
                {
                    "type": "input_image",
                    "detail": image.get("detail") or "auto",
                    "file_id": image["file_id"],
                    "image_url": None,
                }
            )
        elif kind == "image_url":
            image = part["image_url"]
            content.append(
                {
                    "type": "input_image",
                    "detail": image.get("detail") or "auto",
                    "file_id": None,
                    "image_url": image["url"],
                }
            )
    for attachment in doc.get("attachments") or []:
        content.append({"type": "input_file", "file_id": attachment["file_id"]})
    return content


def thread_message_item(doc: MessageDoc, container: str) -> JSON:
    """A thread message as a conversation's message item."""
    if doc["role"] == "assistant":
        return message_item(dict(doc), container)
    return {
        "id": doc["id"],
        "type": "message",
        "status": doc["status"],
        "role": doc["role"],
        "content": _user_content(doc),
    }


def _annotation(note: JSON) -> JSON | None:
    """A Responses citation as the Assistants form shows it: a point span (its text
    the file's name, so it reads back unchanged)."""
    at = note.get("index", note.get("start_index", 0))
    if note.get("type") == "file_citation":
        return {
            "type": "file_citation",
            "text": note.get("filename") or "",
            "start_index": at,
            "end_index": at,
            "file_citation": {"file_id": note["file_id"]},
        }
    if note.get("type") == "container_file_citation":
        return {
            "type": "file_path",
            "text": note.get("filename") or "",
            "start_index": note.get("start_index", 0),
            "end_index": note.get("end_index", 0),
            "file_path": {"file_id": note["file_id"]},
        }
    return None


def message_doc_of(
    item: JSON, *, thread_id: str, created_at: int, run_id: str | None = None
) -> MessageDoc:
    """A user or assistant message item as the thread message both surfaces read."""
    content: list[Any] = []
    attachments: list[Any] = []
    for part in item["content"]:
        kind = part["type"]
        if kind in ("input_text", "output_text"):
            notes = [_annotation(n) for n in part.get("annotations") or []]
            value = {"value": part["text"], "annotations": [n for n in notes if n is not None]}
            content.append({"type": "text", "text": value})
        elif kind == "refusal":
            content.append({"type": "refusal", "refusal": part["refusal"]})
        elif kind == "input_image" and part.get("file_id"):
            detail = part.get("detail") or "auto"
            content.append(
                {"type": "image_file", "image_file": {"file_id": part["file_id"], "detail": detail}}
            )
        elif kind == "input_image":
            detail = part.get("detail") or "auto"
            content.append(
                {"type": "image_url", "image_url": {"url": part["image_url"], "detail": detail}}
            )
        elif kind == "input_file":
            attachments.append({"file_id": part["file_id"], "tools": []})
    return {
        "id": item["id"],
        "object": "thread.message",
        "created_at": created_at,
        "assistant_id": None,
        "thread_id": thread_id,
        "run_id": run_id,
        "status": "completed",
        "incomplete_details": None,
        "completed_at": created_at,
        "incomplete_at": None,
        "role": item["role"],
        "content": content,
        "attachments": attachments,
        "metadata": {},
    }


def step_items(
    step: JSON, exchanges: JSON, include: Sequence[str], container: str
) -> list[tuple[str, JSON]]:
    """A run step's items and where each stands, in order: its tool calls, each answered
    function call followed by its output."""
    out: list[tuple[str, JSON]] = []
    calls = step["step_details"].get("tool_calls") or []
    items = step_tool_items(step, exchanges, include, container)
    for entry, item in zip(calls, items, strict=True):
        out.append((item_key(item["id"]), item))
        function = entry.get("function") if entry["type"] == "function" else None
        output = (function or {}).get("output")
        if output is not None:
            answer_id = item_id(IdKind.function_call_output_item, entry["id"])
            answer = {
                "id": answer_id,
                "type": "function_call_output",
                "call_id": entry["id"],
                "output": output,
                "status": "completed",
            }
            out.append((item_key(answer_id), answer))
    out.sort(key=lambda pair: pair[0])
    return out
