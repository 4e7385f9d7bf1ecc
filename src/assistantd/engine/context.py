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

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

import orjson

from assistantd.protocol.common import ListParams
from assistantd.protocol.objects import RunDoc, RunPrivate
from assistantd.store.db import Database
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.pages import Page
from assistantd.store.repos.runs import runs_repo
from assistantd.store.sql import Conn

__all__ = [
    "THREAD_HISTORY",
    "Context",
    "Group",
    "History",
    "HistoryReader",
    "ImageReader",
    "build_context",
]

_PAGE = 100
# The first page asked of a history: most prompts fill their window within a few turns
# when turns are long, and every group read is also counted; later pages double.
_FIRST_PAGE = 10
R = TypeVar("R")
_ANSWER_ROOM = 1024  # reserved for the answer when max_completion_tokens is not set

# (project, file_id) → the File's bytes and media type, or None if it is gone.
ImageReader = Callable[[str, str], Awaitable[tuple[bytes, str] | None]]


@dataclass
class Context:
    messages: list[dict[str, Any]]
    prompt_tokens: int
    # The newest thread message did not fit within max_prompt_tokens.
    over_budget: bool = False
    # This run already called tools and got their outputs back.
    answered_tools: bool = False


def _chat_message(doc: dict[str, Any]) -> dict[str, Any]:
    """A thread message as a chat message. An `image_file` part stays a marker here:
    it is counted as a placeholder and turned into an image only once picked."""
    parts: list[str] = []
    images: list[dict[str, Any]] = []
    for part in doc["content"]:
        if part["type"] == "text":
            parts.append(part["text"]["value"])
        elif part["type"] == "image_url":
            images.append({"type": "image_url", "image_url": part["image_url"]})
        elif part["type"] == "image_file":
            images.append({"type": "image_file", "image_file": part["image_file"]})
    text = "\n".join(parts)
    if images and doc["role"] == "user":
        return {"role": "user", "content": [{"type": "text", "text": text}, *images]}
    return {"role": doc["role"], "content": text}


def _placeholder(part: dict[str, Any]) -> dict[str, Any]:
    """What a model that cannot see images is told instead (and what is counted)."""
    return {"type": "text", "text": f"[image file {part['image_file']['file_id']}]"}


def _for_counting(message: dict[str, Any]) -> dict[str, Any]:
    content = message["content"]
    if not isinstance(content, list):
        return message
    parts = [_placeholder(p) if p["type"] == "image_file" else p for p in content]
    return {**message, "content": parts}


async def _with_images(
    message: dict[str, Any], project: str, read_image: ImageReader | None
) -> dict[str, Any]:
    """image_file parts as `data:` URL image parts (or placeholders, for text models)."""
    content = message["content"]
    if not isinstance(content, list) or not any(p["type"] == "image_file" for p in content):
        return message
    parts: list[dict[str, Any]] = []
    for part in content:
        if part["type"] != "image_file":
            parts.append(part)
            continue
        image = part["image_file"]
        found = await read_image(project, image["file_id"]) if read_image else None
        if found is None:
            parts.append(_placeholder(part))
            continue
        data, media_type = found
        url = f"data:{media_type};base64,{base64.b64encode(data).decode()}"
        parts.append(
            {"type": "image_url", "image_url": {"url": url, "detail": image.get("detail", "auto")}}
        )
    return {**message, "content": parts}


def _tool_exchanges(steps: list[str], private: RunPrivate) -> list[dict[str, Any]]:
    """This run's answered tool calls, as an assistant turn and one tool message each.

    A server tool's call (file_search) is replayed as the function call the model made,
    with the output it was given, both kept in the run's private state."""
    exchanges = private["exchanges"]
    out: list[dict[str, Any]] = []
    for text in steps:
        step = orjson.loads(text)
        if step["type"] != "tool_calls" or step["status"] != "completed":
            continue
        calls = []
        for c in step["step_details"]["tool_calls"]:
            if c["type"] == "function":
                calls.append(c)
            elif c["id"] in exchanges:
                e = exchanges[c["id"]]
                calls.append(
                    {
                        "id": c["id"],
                        "function": {
                            "name": e["name"],
                            "arguments": e["arguments"],
                            "output": e["output"],
                        },
                    }
                )
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


Group = list[dict[str, Any]]  # chat messages a prompt keeps or drops together


class HistoryReader(Protocol):
    async def next(self, limit: int) -> list[Group]:
        """Up to `limit` more groups, newest first; [] when there are no more."""
        ...


class History(Protocol):
    """Where a run's earlier turns come from, read newest first one page at a time.

    The thread's messages for an Assistants run (`ThreadHistory`); the chain of earlier
    responses for the run behind a Response (services/response_history.py). The run's
    private state names the one it reads (`RunPrivate["history"]`). A group is kept or
    dropped whole: a function call and its output, which a model must see together."""

    def reader(self, db: Database, *, project: str, run: RunDoc) -> HistoryReader: ...


class _ThreadReader:
    def __init__(self, db: Database, project: str, run: RunDoc) -> None:
        self.db, self.project, self.run = db, project, run
        self.after: str | None = None
        self.done = False

    async def next(self, limit: int) -> list[Group]:
        if self.done:
            return []
        params = ListParams(limit=limit, order="desc", after=self.after)
        page = await self.db.read(partial(_page, project=self.project, run=self.run, params=params))
        self.done, self.after = not page.has_more, page.last_id
        return [[_chat_message(orjson.loads(raw))] for raw in page.docs]


class ThreadHistory:
    def reader(self, db: Database, *, project: str, run: RunDoc) -> HistoryReader:
        return _ThreadReader(db, project, run)


THREAD_HISTORY = ThreadHistory()


def _page(conn: Conn, *, project: str, run: RunDoc, params: ListParams) -> Page:
    return messages_repo.page_in_thread(
        conn, project=project, thread_id=run["thread_id"], params=params
    )


def _costs(
    count_tokens: Callable[[list[dict[str, Any]]], int],
    groups: list[Group],
    empty: int,
) -> list[int]:
    """Each group's own tokens (what it adds to a prompt)."""
    return [count_tokens([_for_counting(m) for m in group]) - empty for group in groups]


async def _inline(function: Callable[..., R], /, *args: Any) -> R:
    return function(*args)


async def build_context(
    db: Database,
    *,
    run: RunDoc,
    private: RunPrivate,
    project: str,
    context_window: int,
    count_tokens: Callable[[list[dict[str, Any]]], int],
    read_image: ImageReader | None = None,
    counts_cheaply: bool = False,
    history: History = THREAD_HISTORY,
) -> Context:
    """The run's prompt. Pages are read on the event loop (index seeks), but tokens are
    counted in a thread: a real tokenizer takes milliseconds a page, which would stall
    every other request and heartbeat of the process. An estimate (`counts_cheaply`)
    is counted inline: three thread hops cost a run more than the counting."""
    off_loop = _inline if counts_cheaply else asyncio.to_thread
    instructions = run["instructions"] or ""
    if private["additional_instructions"]:
        instructions = f"{instructions}\n\n{private['additional_instructions']}".strip()
    head = [{"role": "system", "content": instructions}] if instructions else []
    steps = await db.read(lambda conn: runs_repo.step_docs(conn, run["id"]))
    tail = _tool_exchanges(steps, private)
    budget = context_window - (run["max_completion_tokens"] or _ANSWER_ROOM)
    if run["max_prompt_tokens"]:
        budget = min(budget, run["max_prompt_tokens"])
    used, empty = await off_loop(lambda: (count_tokens(head + tail), count_tokens([])))
    strategy = run["truncation_strategy"]
    keep = strategy.get("last_messages") if strategy["type"] == "last_messages" else None

    picked: list[Group] = []
    reader = history.reader(db, project=project, run=run)
    over_budget = False
    page = _FIRST_PAGE
    while keep is None or len(picked) < keep:
        limit = page if keep is None else min(page, keep - len(picked))
        page = min(_PAGE, page * 2)
        groups = await reader.next(limit)
        if not groups:
            break
        costs = await off_loop(_costs, count_tokens, groups, empty)
        for group, cost in zip(groups, costs, strict=True):
            if used + cost > budget:
                over_budget = not picked
                keep = len(picked)
                break
            used += cost
            picked.append(group)
            if keep is not None and len(picked) >= keep:
                break
        if keep is not None and len(picked) >= keep:
            break
    picked.reverse()
    earlier = [message for group in picked for message in group]
    counted = [_for_counting(m) for m in head + earlier + tail]
    prompt_tokens = await off_loop(count_tokens, counted)
    messages = [await _with_images(m, project, read_image) for m in head + earlier + tail]
    return Context(
        messages=messages,
        prompt_tokens=prompt_tokens,
        over_budget=over_budget,
        answered_tools=bool(tail),
    )
