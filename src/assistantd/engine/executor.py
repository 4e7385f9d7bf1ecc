"""RunExecutor: one turn of a run, from its context to its next status.

    queued ─(claimed)→ in_progress ─→ completed | incomplete | failed | requires_action
                                 └─(cancel)→ cancelling → cancelled

The model's answer streams in; the message and its step are created at the first
token and written whole when the turn ends, in the same transaction as the run's
new status, so a reader never sees a finished run with an unfinished message.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from assistantd import clock
from assistantd.engine.context import build_context
from assistantd.ids import IdKind, new_id
from assistantd.providers.base import (
    ChatRequest,
    Finish,
    Provider,
    ProviderError,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from assistantd.providers.registry import ProviderRegistry
from assistantd.services.documents import encode
from assistantd.services.run_docs import assistant_message_doc, step_doc
from assistantd.services.run_states import close_open_work, transition
from assistantd.store.db import Database
from assistantd.store.repos.messages import MessageRepository
from assistantd.store.repos.runs import RunRepository
from assistantd.store.sql import Conn

__all__ = ["RunExecutor"]

log = logging.getLogger(__name__)
_CANCEL_CHECK_S = 0.2


@dataclass
class _Call:
    id: str
    name: str = ""
    arguments: str = ""


@dataclass
class _Turn:
    """What the model produced in this turn."""

    run: dict[str, Any]
    private: dict[str, Any]
    project: str
    text: str = ""
    calls: dict[int, _Call] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish: str | None = None
    message: dict[str, Any] | None = None
    step: dict[str, Any] | None = None


def _tools(run: dict[str, Any]) -> list[dict[str, Any]]:
    # Only function tools reach the model for now; code_interpreter and file_search
    # are stored on runs but not executed by this server yet.
    return [
        {"type": "function", "function": t["function"]}
        for t in run["tools"]
        if t["type"] == "function"
    ]


def _tool_choice(run: dict[str, Any]) -> str | dict[str, Any] | None:
    choice = run["tool_choice"]
    if isinstance(choice, dict):
        if choice.get("type") == "function":
            return {"type": "function", "function": {"name": choice["function"]["name"]}}
        return "auto"
    return str(choice) if choice else None


def _response_format(run: dict[str, Any]) -> dict[str, Any] | None:
    value = run["response_format"]
    if isinstance(value, dict) and value.get("type") in ("json_object", "json_schema"):
        return value
    return None


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class RunExecutor:
    def __init__(
        self, db: Database, providers: ProviderRegistry, *, requires_action_ttl_s: int = 600
    ) -> None:
        self.db = db
        self.providers = providers
        self.requires_action_ttl_s = requires_action_ttl_s
        self.runs = RunRepository()
        self.messages = MessageRepository()

    async def execute(self, run_id: str) -> None:
        loaded = await self.db.read(lambda conn: self.runs.load(conn, run_id))
        if loaded is None:
            return
        turn = _Turn(orjson.loads(loaded.doc), orjson.loads(loaded.private), loaded.project)
        if turn.run["status"] != "in_progress":
            return
        try:
            provider = self.providers.for_model(turn.run["model"])
            await self._generate(turn, provider)
        except ProviderError as error:
            await self._end(
                turn, "failed", last_error={"code": error.code, "message": error.message}
            )
        except Exception:
            log.exception("run %s failed", run_id)
            await self._end(
                turn,
                "failed",
                last_error={
                    "code": "server_error",
                    "message": "The server had an error while running this run.",
                },
            )

    async def _generate(self, turn: _Turn, provider: Provider) -> None:
        run = turn.run
        context = await self.db.read(
            lambda conn: build_context(
                conn,
                run=run,
                private=turn.private,
                project=turn.project,
                context_window=provider.context_window,
                count_tokens=provider.count_tokens,
            )
        )
        if context.over_budget:
            await self._end(turn, "incomplete", incomplete={"reason": "max_prompt_tokens"})
            return
        used = (run["usage"] or {}).get("completion_tokens", 0)
        max_tokens = run["max_completion_tokens"] - used if run["max_completion_tokens"] else None
        if max_tokens is not None and max_tokens <= 0:
            await self._end(turn, "incomplete", incomplete={"reason": "max_completion_tokens"})
            return
        tools = _tools(run)
        request = ChatRequest(
            model=run["model"],
            messages=context.messages,
            tools=tools,
            tool_choice=_tool_choice(run) if tools else None,
            parallel_tool_calls=run["parallel_tool_calls"],
            response_format=_response_format(run),
            temperature=run["temperature"],
            top_p=run["top_p"],
            max_tokens=max_tokens,
            reasoning_effort=turn.private.get("reasoning_effort"),
        )
        turn.prompt_tokens = context.prompt_tokens
        checked = time.monotonic()
        async for event in provider.stream(request):
            if isinstance(event, TextDelta):
                if turn.message is None:
                    await self._open_message(turn)
                turn.text += event.text
            elif isinstance(event, ToolCallDelta):
                call = turn.calls.setdefault(event.index, _Call(id=new_id(IdKind.tool_call)))
                call.name += event.name or ""
                call.arguments += event.arguments
            elif isinstance(event, Usage):
                turn.prompt_tokens, turn.completion_tokens = (
                    event.prompt_tokens,
                    event.completion_tokens,
                )
            elif isinstance(event, Finish):
                turn.finish = event.reason
            if time.monotonic() - checked > _CANCEL_CHECK_S:
                checked = time.monotonic()
                if (
                    await self.db.read(lambda conn: self.runs.status(conn, run["id"]))
                    == "cancelling"
                ):
                    await self._end(turn, "cancelled")
                    return
        if not turn.completion_tokens:
            turn.completion_tokens = len(turn.text) // 4 + sum(
                len(c.arguments) // 4 for c in turn.calls.values()
            )
        await self._finish(turn)

    async def _open_message(self, turn: _Turn) -> None:
        now = clock.now()
        message = assistant_message_doc(
            message_id=new_id(IdKind.message), run=turn.run, created_at=now
        )
        step = step_doc(
            step_id=new_id(IdKind.run_step),
            run=turn.run,
            created_at=now,
            details={"type": "message_creation", "message_creation": {"message_id": message["id"]}},
        )
        turn.message, turn.step = message, step

        def unit(conn: Conn) -> None:
            self.messages.insert_many(conn, [self._message_row(turn, message)])
            self.runs.insert_step(
                conn,
                {
                    "run_id": turn.run["id"],
                    "id": step["id"],
                    "project": turn.project,
                    "doc": encode(step),
                },
            )

        await self.db.write(unit)

    def _message_row(self, turn: _Turn, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": message["id"],
            "project": turn.project,
            "thread_id": turn.run["thread_id"],
            "run_id": turn.run["id"],
            "created_at": message["created_at"],
            "doc": encode(message),
        }

    async def _finish(self, turn: _Turn) -> None:
        calls = [turn.calls[i] for i in sorted(turn.calls)]
        if calls and not turn.run["parallel_tool_calls"]:
            calls = calls[:1]
        if calls:
            await self._require_action(turn, calls)
        elif turn.finish == "length":
            await self._end(turn, "incomplete", incomplete={"reason": "max_completion_tokens"})
        else:
            await self._end(turn, "completed")

    def _close_message(self, turn: _Turn, status: str, reason: str | None) -> dict[str, Any] | None:
        message = turn.message
        if message is None:
            return None
        now = clock.now()
        message["content"] = [{"type": "text", "text": {"value": turn.text, "annotations": []}}]
        message["status"] = status
        if status == "completed":
            message["completed_at"] = now
        else:
            message["incomplete_at"] = now
            message["incomplete_details"] = {"reason": reason}
        return message

    def _add_usage(self, turn: _Turn) -> dict[str, int]:
        before = turn.run["usage"] or _usage(0, 0)
        usage = _usage(
            before["prompt_tokens"] + turn.prompt_tokens,
            before["completion_tokens"] + turn.completion_tokens,
        )
        turn.run["usage"] = usage
        return _usage(turn.prompt_tokens, turn.completion_tokens)

    async def _end(
        self,
        turn: _Turn,
        status: str,
        *,
        last_error: dict[str, str] | None = None,
        incomplete: dict[str, str] | None = None,
    ) -> None:
        run = turn.run
        step_usage = self._add_usage(turn)
        message_reason = {
            "cancelled": "run_cancelled",
            "failed": "run_failed",
            "expired": "run_expired",
        }
        message = self._close_message(
            turn,
            "completed" if status == "completed" else "incomplete",
            message_reason.get(status, "max_tokens"),
        )
        step = turn.step

        def unit(conn: Conn) -> None:
            current = self.runs.status(conn, run["id"])
            run["status"] = current or run["status"]
            final = "cancelled" if current == "cancelling" and status == "completed" else status
            run["last_error"] = last_error
            run["incomplete_details"] = incomplete
            if final != run["status"]:
                transition(run, final)
            if message is not None and step is not None:
                self.messages.replace(
                    conn, turn.project, run["thread_id"], message["id"], encode(message)
                )
                step["usage"] = step_usage
                self.runs.save_step(conn, run["id"], step["id"], encode(step))
            close_open_work(self.runs, conn, run)
            self.runs.save(
                conn, run["id"], encode(run), run["status"], run["expires_at"], encode(turn.private)
            )

        await self.db.write(unit)

    async def _require_action(self, turn: _Turn, calls: list[_Call]) -> None:
        run = turn.run
        step_usage = self._add_usage(turn)
        message = self._close_message(turn, "completed", None)
        now = clock.now()
        tool_step = step_doc(
            step_id=new_id(IdKind.run_step),
            run=run,
            created_at=now,
            details={
                "type": "tool_calls",
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments, "output": None},
                    }
                    for c in calls
                ],
            },
        )
        tool_step["usage"] = step_usage
        ttl = self.requires_action_ttl_s

        def unit(conn: Conn) -> None:
            current = self.runs.status(conn, run["id"])
            run["status"] = current or run["status"]
            if current == "cancelling":
                transition(run, "cancelled")
                close_open_work(self.runs, conn, run)
                self.runs.save(
                    conn,
                    run["id"],
                    encode(run),
                    run["status"],
                    run["expires_at"],
                    encode(turn.private),
                )
                return
            if message is not None and turn.step is not None:
                self.messages.replace(
                    conn, turn.project, run["thread_id"], message["id"], encode(message)
                )
                turn.step["status"] = "completed"
                turn.step["completed_at"] = now
                self.runs.save_step(conn, run["id"], turn.step["id"], encode(turn.step))
            self.runs.insert_step(
                conn,
                {
                    "run_id": run["id"],
                    "id": tool_step["id"],
                    "project": turn.project,
                    "doc": encode(tool_step),
                },
            )
            transition(run, "requires_action")
            run["required_action"] = {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in calls
                    ]
                },
            }
            run["expires_at"] = clock.now() + ttl
            self.runs.save(
                conn, run["id"], encode(run), run["status"], run["expires_at"], encode(turn.private)
            )

        await self.db.write(unit)
