"""Stored Response items as the chat messages a model is prompted with: a function call
and its output kept in one group (engine/context.py keeps or drops a group whole)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

__all__ = ["chat_groups"]

JSON = dict[str, Any]


def _text_of(content: list[JSON]) -> str:
    texts = []
    for part in content:
        if part["type"] == "input_file":
            texts.append(
                f"[file {part.get('filename') or part['file_id']}]\n{part.get('_text', '')}"
            )
        elif part["type"] != "input_image":
            texts.append(part.get("text") or part.get("refusal") or "")
    return "\n".join(texts)


def _chat(item: JSON) -> JSON | None:
    """A message item as a chat message (None for items a model is not shown)."""
    role = item["role"]
    content = item["content"]
    images = [p for p in content if p["type"] == "input_image"]
    if role in ("system", "developer"):
        return {"role": "system", "content": _text_of(content)}
    if role == "user" and images:
        parts: list[JSON] = [{"type": "text", "text": _text_of(content)}]
        for image in images:
            if image.get("file_id"):
                detail = image.get("detail") or "auto"
                parts.append(
                    {
                        "type": "image_file",
                        "image_file": {"file_id": image["file_id"], "detail": detail},
                    }
                )
            else:
                parts.append({"type": "image_url", "image_url": {"url": image["image_url"]}})
        return {"role": "user", "content": parts}
    return {"role": role, "content": _text_of(content)}


def _server_call(item: JSON) -> tuple[JSON, str]:
    """A file_search or code_interpreter call given back as input: the function call the
    model made and what it was told."""
    if item["type"] == "file_search_call":
        arguments = orjson.dumps({"query": " ".join(item.get("queries") or [])}).decode()
        results = item.get("results") or []
        output = "\n\n".join(f"{r.get('filename', '')}\n{r.get('text', '')}" for r in results)
        return {"name": "file_search", "arguments": arguments}, output
    arguments = orjson.dumps({"code": item.get("code") or ""}).decode()
    logs = [o.get("logs", "") for o in item.get("outputs") or [] if o.get("type") == "logs"]
    return {"name": "code_interpreter", "arguments": arguments}, "\n".join(logs)


def chat_groups(items: Sequence[JSON], outputs: dict[str, str]) -> list[list[JSON]]:
    """Items (oldest first) as prompt groups, newest first.

    `outputs` carries function outputs whose calls come earlier than these items (read
    newest first, an output is seen before its call): a call takes its output from it,
    and outputs met here are added to it for the calls still to come."""
    groups: list[list[JSON]] = []
    pending: list[JSON] = []  # function calls of one assistant turn, newest first

    def close_turn() -> None:
        if not pending:
            return
        calls = list(reversed(pending))
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": c["call_id"], "type": "function", "function": c["function"]} for c in calls
            ],
        }
        answers = [
            {"role": "tool", "tool_call_id": c["call_id"], "content": outputs.pop(c["call_id"], "")}
            for c in calls
        ]
        groups.append([message, *answers])
        pending.clear()

    for item in reversed(items):
        kind = item["type"]
        if kind == "function_call_output":
            close_turn()
            outputs[item["call_id"]] = item["output"]
        elif kind == "function_call":
            pending.append(
                {
                    "call_id": item["call_id"],
                    "function": {"name": item["name"], "arguments": item["arguments"]},
                }
            )
        elif kind in ("file_search_call", "code_interpreter_call"):
            function, output = _server_call(item)
            outputs.setdefault(item["id"], output)
            pending.append({"call_id": item["id"], "function": function})
        elif kind == "message":
            close_turn()
            chat = _chat(item)
            if chat is not None:
                groups.append([chat])
        else:
            close_turn()  # reasoning: not shown to a model
    close_turn()
    return groups
