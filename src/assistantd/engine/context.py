"""The prompt for a run: instructions, the newest thread messages that fit, this run's tool calls.

Truncation reads the thread newest-first, one keyset page at a time, and stops as soon
as the budget is spent, so a run on a thread of a million messages reads only what it
can use:
- `last_messages: N` keeps the N newest messages;
- `auto` keeps the newest messages that fit the model's context window less room for
  the answer, dropping the oldest;
- `max_prompt_tokens` caps either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from assistantd.protocol.common import ListParams
from assistantd.store.repos.messages import MessageRepository
from assistantd.store.repos.runs import RunRepository
from assistantd.store.sql import Conn

__all__ = ["Context", "build_context"]

_PAGE = 100
_ANSWER_ROOM = 1024  # reserved for the answer when max_completion_tokens is not set


@dataclass
class Context:
    messages: list[dict[str, Any]]
    prompt_tokens: int
    # The newest thread message did not fit within max_prompt_tokens.
    over_budget: bool = False


def _chat_message(doc: dict[str, Any]) -> dict[str, Any]:
    parts: list[str] = []
    images: list[dict[str, Any]] = []
    for part in doc["content"]:
        if part["type"] == "text":
            parts.append(part["text"]["value"])
        elif part["type"] == "image_url":
            images.append({"type": "image_url", "image_url": part["image_url"]})
        elif part["type"] == "image_file":
            parts.append(f"[image file {part['image_file']['file_id']}]")
    text = "\n".join(parts)
    if images and doc["role"] == "user":
        return {"role": "user", "content": [{"type": "text", "text": text}, *images]}
    return {"role": doc["role"], "content": text}


def _tool_exchanges(steps: list[str]) -> list[dict[str, Any]]:
    """This run's answered tool calls, as an assistant turn and one tool message each."""
    out: list[dict[str, Any]] = []
    for text in steps:
        step = orjson.loads(text)
        if step["type"] != "tool_calls" or step["status"] != "completed":
            continue
        calls = [c for c in step["step_details"]["tool_calls"] if c["type"] == "function"]
        if not calls:
            continue
        out.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {
                            "name": c["function"]["name"],
                            "arguments": c["function"]["arguments"],
                        },
                    }
                    for c in calls
                ],
            }
        )
        out += [
            {"role": "tool", "tool_call_id": c["id"], "content": c["function"]["output"] or ""}
            for c in calls
        ]
    return out


def build_context(
    conn: Conn,
    *,
    run: dict[str, Any],
    private: dict[str, Any],
    project: str,
    context_window: int,
    count_tokens: Callable[[list[dict[str, Any]]], int],
) -> Context:
    instructions = run["instructions"] or ""
    if private.get("additional_instructions"):
        instructions = f"{instructions}\n\n{private['additional_instructions']}".strip()
    head = [{"role": "system", "content": instructions}] if instructions else []
    tail = _tool_exchanges(RunRepository().step_docs(conn, run["id"]))
    budget = context_window - (run["max_completion_tokens"] or _ANSWER_ROOM)
    if run["max_prompt_tokens"]:
        budget = min(budget, run["max_prompt_tokens"])
    used = count_tokens(head + tail)
    strategy = run["truncation_strategy"]
    keep = strategy.get("last_messages") if strategy["type"] == "last_messages" else None

    picked: list[dict[str, Any]] = []
    repo = MessageRepository()
    after: str | None = None
    over_budget = False
    while keep is None or len(picked) < keep:
        limit = _PAGE if keep is None else min(_PAGE, keep - len(picked))
        params = ListParams(limit=limit, order="desc", after=after)
        page = repo.page_in_thread(conn, project=project, thread_id=run["thread_id"], params=params)
        for raw in page.docs:
            message = _chat_message(orjson.loads(raw))
            cost = count_tokens([message]) - count_tokens([])
            if used + cost > budget:
                over_budget = not picked
                keep = len(picked)
                break
            used += cost
            picked.append(message)
            if keep is not None and len(picked) >= keep:
                break
        if not page.has_more or (keep is not None and len(picked) >= keep):
            break
        after = page.last_id
    picked.reverse()
    messages = head + picked + tail
    return Context(messages=messages, prompt_tokens=count_tokens(messages), over_budget=over_budget)
