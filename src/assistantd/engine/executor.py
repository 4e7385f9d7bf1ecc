"""RunExecutor: one turn of a run, from its context to its next status.

    queued ─(claimed)→ in_progress ─→ completed | incomplete | failed | requires_action
                                 └─(cancel)→ cancelling → cancelled

The model's answer streams in. A message (or a tool_calls step) is created at the
first token and written whole when the turn ends, in the same transaction as the run's
new status, so a reader never sees a finished run with an unfinished message. Every
change is published on the event bus after it commits, and every token as it comes, in
the order CONTRACT.md section 7 gives.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from assistantd import clock
from assistantd.engine.context import build_context
from assistantd.events.bus import EventBus
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
from assistantd.services.run_events import publish_doc, step_event
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
    tool_step: dict[str, Any] | None = None


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
        self,
        db: Database,
        providers: ProviderRegistry,
        bus: EventBus,
        *,
        requires_action_ttl_s: int = 600,
    ) -> None:
        self.db = db
        self.providers = providers
        self.bus = bus
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

    def _request(
        self, turn: _Turn, messages: list[dict[str, Any]], max_tokens: int | None
    ) -> ChatRequest:
        run = turn.run
        tools = _tools(run)
        return ChatRequest(
            model=run["model"],
            messages=messages,
            tools=tools,
            tool_choice=_tool_choice(run) if tools else None,
            parallel_tool_calls=run["parallel_tool_calls"],
            response_format=_response_format(run),
            temperature=run["temperature"],
            top_p=run["top_p"],
            max_tokens=max_tokens,
            reasoning_effort=turn.private.get("reasoning_effort"),
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
        turn.prompt_tokens = context.prompt_tokens
        checked = time.monotonic()
        async for event in provider.stream(self._request(turn, context.messages, max_tokens)):
            if isinstance(event, TextDelta):
                await self._on_text(turn, event.text)
            elif isinstance(event, ToolCallDelta):
                await self._on_tool_call(turn, event)
            elif isinstance(event, Usage):
                turn.prompt_tokens = event.prompt_tokens
                turn.completion_tokens = event.completion_tokens
            elif isinstance(event, Finish):
                turn.finish = event.reason
            if time.monotonic() - checked > _CANCEL_CHECK_S:
                checked = time.monotonic()
                status = await self.db.read(lambda conn: self.runs.status(conn, run["id"]))
                if status == "cancelling":
                    await self._end(turn, "cancelled")
                    return
        if not turn.completion_tokens:
            # An upstream that reports no usage: estimate, as for prompts.
            pieces = [turn.text, *(c.arguments for c in turn.calls.values())]
            turn.completion_tokens = sum(len(p) for p in pieces) // 4
        await self._finish(turn)

    async def _on_text(self, turn: _Turn, text: str) -> None:
        if turn.message is None:
            await self._open_message(turn)
        assert turn.message is not None
        turn.text += text
        delta = {
            "id": turn.message["id"],
            "object": "thread.message.delta",
            "delta": {
                "content": [
                    {"index": 0, "type": "text", "text": {"value": text, "annotations": []}}
                ]
            },
        }
        self.bus.publish(turn.run["id"], "thread.message.delta", orjson.dumps(delta))

    async def _on_tool_call(self, turn: _Turn, event: ToolCallDelta) -> None:
        if event.index > 0 and not turn.run["parallel_tool_calls"]:
            return  # only the first call is kept; do not stream the others
        if turn.tool_step is None:
            await self._open_tool_step(turn)
        assert turn.tool_step is not None
        call = turn.calls.get(event.index)
        if call is None:
            call = turn.calls[event.index] = _Call(
                id=new_id(IdKind.tool_call), name=event.name or ""
            )
            # The first delta of a call carries its id and name; later ones only add
            # arguments (the SDK concatenates strings it sees twice).
            entry = {
                "index": event.index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": event.arguments, "output": None},
            }
        else:
            call.name += event.name or ""
            entry = {
                "index": event.index,
                "type": "function",
                "function": {"arguments": event.arguments},
            }
        call.arguments += event.arguments
        delta = {
            "id": turn.tool_step["id"],
            "object": "thread.run.step.delta",
            "delta": {"step_details": {"type": "tool_calls", "tool_calls": [entry]}},
        }
        self.bus.publish(turn.run["id"], "thread.run.step.delta", orjson.dumps(delta))

    def _insert_step(self, conn: Conn, turn: _Turn, step: dict[str, Any]) -> None:
        row = {
            "run_id": turn.run["id"],
            "id": step["id"],
            "project": turn.project,
            "doc": encode(step),
        }
        self.runs.insert_step(conn, row)

    async def _open_message(self, turn: _Turn) -> None:
        now = clock.now()
        message = assistant_message_doc(
            message_id=new_id(IdKind.message), run=turn.run, created_at=now
        )
        details = {"type": "message_creation", "message_creation": {"message_id": message["id"]}}
        step = step_doc(
            step_id=new_id(IdKind.run_step), run=turn.run, created_at=now, details=details
        )
        turn.message, turn.step = message, step

        def unit(conn: Conn) -> None:
            self.messages.insert_many(conn, [self._message_row(turn, message)])
            self._insert_step(conn, turn, step)

        await self.db.write(unit)
        run_id = turn.run["id"]
        publish_doc(self.bus, run_id, "thread.run.step.created", step)
        publish_doc(self.bus, run_id, "thread.run.step.in_progress", step)
        publish_doc(self.bus, run_id, "thread.message.created", message)
        publish_doc(self.bus, run_id, "thread.message.in_progress", message)

    async def _open_tool_step(self, turn: _Turn) -> None:
        if turn.message is not None:
            await self._close_text(turn)
        details = {"type": "tool_calls", "tool_calls": []}
        step = step_doc(
            step_id=new_id(IdKind.run_step), run=turn.run, created_at=clock.now(), details=details
        )
        turn.tool_step = step
        await self.db.write(lambda conn: self._insert_step(conn, turn, step))
        publish_doc(self.bus, turn.run["id"], "thread.run.step.created", step)
        publish_doc(self.bus, turn.run["id"], "thread.run.step.in_progress", step)

    async def _close_text(self, turn: _Turn) -> None:
        """Text before tool calls: finish that message and its step before the calls' step."""
        message = self._close_message(turn, "completed", None)
        step = turn.step
        assert message is not None
        assert step is not None
        step["status"] = "completed"
        step["completed_at"] = clock.now()

        def unit(conn: Conn) -> None:
            self.messages.replace(
                conn, turn.project, turn.run["thread_id"], message["id"], encode(message)
            )
            self.runs.save_step(conn, turn.run["id"], step["id"], encode(step))

        await self.db.write(unit)
        publish_doc(self.bus, turn.run["id"], "thread.message.completed", message)
        publish_doc(self.bus, turn.run["id"], "thread.run.step.completed", step)
        turn.message = turn.step = None

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
        turn.run["usage"] = _usage(
            before["prompt_tokens"] + turn.prompt_tokens,
            before["completion_tokens"] + turn.completion_tokens,
        )
        return _usage(turn.prompt_tokens, turn.completion_tokens)

    def _save_run(self, conn: Conn, turn: _Turn) -> None:
        run = turn.run
        self.runs.save(
            conn, run["id"], encode(run), run["status"], run["expires_at"], encode(turn.private)
        )

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
        reasons = {"cancelled": "run_cancelled", "failed": "run_failed", "expired": "run_expired"}
        final_message = "completed" if status == "completed" else "incomplete"
        message = self._close_message(turn, final_message, reasons.get(status, "max_tokens"))
        updates = {}
        for step in (turn.step, turn.tool_step):
            if step is not None:
                step["usage"] = step_usage
                updates[step["id"]] = step

        def unit(conn: Conn) -> list[dict[str, Any]]:
            current = self.runs.status(conn, run["id"])
            run["status"] = current or run["status"]
            final = "cancelled" if current == "cancelling" and status == "completed" else status
            run["last_error"] = last_error
            run["incomplete_details"] = incomplete
            if final != run["status"]:
                transition(run, final)
            if message is not None:
                if run["status"] == "cancelled" and message["status"] == "completed":
                    self._close_message(turn, "incomplete", "run_cancelled")
                self.messages.replace(
                    conn, turn.project, run["thread_id"], message["id"], encode(message)
                )
            closed = close_open_work(self.runs, conn, run, updates)
            self._save_run(conn, turn)
            return closed

        closed = await self.db.write(unit)
        run_id = run["id"]
        if message is not None:
            name = "completed" if message["status"] == "completed" else "incomplete"
            publish_doc(self.bus, run_id, f"thread.message.{name}", message)
        for step in closed:
            publish_doc(self.bus, run_id, step_event(step), step)
        publish_doc(self.bus, run_id, f"thread.run.{run['status']}", run)

    async def _require_action(self, turn: _Turn, calls: list[_Call]) -> None:
        run = turn.run
        step_usage = self._add_usage(turn)
        tool_step = turn.tool_step
        assert tool_step is not None
        tool_step["step_details"]["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments, "output": None},
            }
            for c in calls
        ]
        tool_step["usage"] = step_usage
        ttl = self.requires_action_ttl_s

        def unit(conn: Conn) -> list[dict[str, Any]]:
            current = self.runs.status(conn, run["id"])
            run["status"] = current or run["status"]
            if current == "cancelling":
                transition(run, "cancelled")
                closed = close_open_work(self.runs, conn, run, {tool_step["id"]: tool_step})
                self._save_run(conn, turn)
                return closed
            self.runs.save_step(conn, run["id"], tool_step["id"], encode(tool_step))
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
            self._save_run(conn, turn)
            return []

        closed = await self.db.write(unit)
        for step in closed:
            publish_doc(self.bus, run["id"], step_event(step), step)
        publish_doc(self.bus, run["id"], f"thread.run.{run['status']}", run)
