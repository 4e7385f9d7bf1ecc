"""The writes that end a turn of a run, each in one transaction, each announced after it commits.

A turn opens an assistant message (and its message_creation step) or a tool_calls step
at its first token, and ends in one of three ways: the run ends (`end`), the run waits
for tool outputs (`require_action`), or text is followed by tool calls (`close_text`).
The documents change only here and in `services/run_states.py`.

A unit of work may run twice (the SQLite writer re-runs a batch's units one by one
when any of them fails), so no unit here changes what it was handed: each builds new
documents from the turn, returns them, and the turn takes them once they are committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from assistantd import clock
from assistantd.events.bus import EventBus
from assistantd.ids import IdKind, new_id
from assistantd.protocol.objects import (
    ErrorInfo,
    MessageDoc,
    RunDoc,
    RunPrivate,
    RunStepDoc,
    UsageInfo,
)
from assistantd.services.documents import encode
from assistantd.services.run_docs import assistant_message_doc, step_doc
from assistantd.services.run_events import ending_docs, publish_doc, publish_docs
from assistantd.services.run_states import close_open_work, end_step, transition
from assistantd.store.db import Database
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.runs import runs_repo
from assistantd.store.sql import Conn
from assistantd.tools.base import JSON, AnswerEditor, ServerTool

__all__ = ["Call", "Turn", "TurnWriter"]

D = TypeVar("D", RunDoc, RunStepDoc, MessageDoc)


def _copy(doc: D) -> D:
    """A deep copy: the documents are JSON, so a round trip through orjson is the fastest."""
    copied: D = orjson.loads(orjson.dumps(doc))
    return copied


@dataclass
class Call:
    id: str
    name: str = ""
    arguments: str = ""
    server: bool = False  # a server tool's call: run here, not sent to the client
    position: int = -1  # its index in the step, once announced while streaming
    shown: str = ""  # the input streamed so far


@dataclass
class Turn:
    """What the model produced in this turn, and the documents it is writing."""

    run: RunDoc
    private: RunPrivate
    project: str
    tools: dict[str, ServerTool]  # the server tools the run enabled, by type
    text: str = ""
    calls: dict[int, Call] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish: str | None = None
    max_tokens: int | None = None  # what the client's max_completion_tokens left this turn
    message: MessageDoc | None = None
    step: RunStepDoc | None = None
    tool_step: RunStepDoc | None = None
    annotations: list[JSON] = field(default_factory=list)
    editors: list[AnswerEditor] = field(default_factory=list)  # the tools' (engine/answer.py)
    lead: list[JSON] = field(default_factory=list)  # content parts before the text

    @property
    def text_index(self) -> int:
        return len(self.lead)

    def next(self) -> Turn:
        """The turn after server tools ran: same run, nothing written yet."""
        return Turn(self.run, self.private, self.project, self.tools)


def _client_cap_reached(turn: Turn) -> bool:
    """Was the answer cut by the client's max_completion_tokens? With one set, the
    provider was asked for at most what it left, so a cut is that limit (a smaller limit
    of the upstream's own cannot be told apart from it: usage may be an estimate)."""
    return turn.max_tokens is not None


def _usage(prompt: int, completion: int) -> UsageInfo:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _with_calls(turn: Turn, calls: list[Call]) -> RunStepDoc:
    """The turn's tool_calls step holding the function calls, unanswered (a new document)."""
    assert turn.tool_step is not None
    tool_step = _copy(turn.tool_step)
    tool_step["step_details"]["tool_calls"] = [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments, "output": None},
        }
        for c in calls
    ]
    return tool_step


class TurnWriter:
    def __init__(self, db: Database, bus: EventBus, *, requires_action_ttl_s: int) -> None:
        self.db = db
        self.bus = bus
        self.requires_action_ttl_s = requires_action_ttl_s
        self.runs = runs_repo
        self.messages = messages_repo

    def _insert_step(self, conn: Conn, turn: Turn, step: RunStepDoc) -> None:
        row = {
            "run_id": turn.run["id"],
            "id": step["id"],
            "project": turn.project,
            "thread_id": turn.run["thread_id"],
            "doc": encode(step),
        }
        self.runs.insert_step(conn, row)

    async def open_message(self, turn: Turn, lead: list[JSON], private: RunPrivate) -> None:
        """The answer's message opens with the parts the tools lead it with (images
        code_interpreter displayed since the last message); `private` is the run's state
        once they have been taken."""
        now = clock.now()
        message = assistant_message_doc(
            message_id=new_id(IdKind.message), run=turn.run, created_at=now
        )
        details = {"type": "message_creation", "message_creation": {"message_id": message["id"]}}
        step = step_doc(
            step_id=new_id(IdKind.run_step), run=turn.run, created_at=now, details=details
        )
        turn.message, turn.step = message, step
        turn.lead, turn.private = lead, private

        def unit(conn: Conn) -> None:
            self.messages.insert_many(conn, [self._message_row(turn, message)])
            self._insert_step(conn, turn, step)

        await self.db.write(unit)
        run_id = turn.run["id"]
        opened = [
            ("thread.run.step.created", step),
            ("thread.run.step.in_progress", step),
            ("thread.message.created", message),
            ("thread.message.in_progress", message),
        ]
        await publish_docs(self.bus, run_id, opened)
        if turn.lead:
            parts = [{"index": i, **part} for i, part in enumerate(turn.lead)]
            delta = {
                "id": message["id"],
                "object": "thread.message.delta",
                "delta": {"content": parts},
            }
            await self.bus.publish(run_id, "thread.message.delta", orjson.dumps(delta))

    async def open_tool_step(self, turn: Turn) -> None:
        if turn.message is not None:
            await self.close_text(turn)
        details = {"type": "tool_calls", "tool_calls": []}
        step = step_doc(
            step_id=new_id(IdKind.run_step), run=turn.run, created_at=clock.now(), details=details
        )
        turn.tool_step = step
        await self.db.write(lambda conn: self._insert_step(conn, turn, step))
        opened = [("thread.run.step.created", step), ("thread.run.step.in_progress", step)]
        await publish_docs(self.bus, turn.run["id"], opened)

    async def close_text(self, turn: Turn) -> None:
        """Text before tool calls: finish that message and its step before the calls' step."""
        assert turn.message is not None
        assert turn.step is not None
        message = self._closed_message(turn, "completed", None)
        step = end_step(turn.step, "completed", clock.now())

        def unit(conn: Conn) -> None:
            self.messages.replace(
                conn, turn.project, turn.run["thread_id"], message["id"], encode(message)
            )
            self.runs.save_step(conn, turn.run["id"], step["id"], encode(step))

        await self.db.write(unit)
        closed = [("thread.message.completed", message), ("thread.run.step.completed", step)]
        await publish_docs(self.bus, turn.run["id"], closed)
        turn.message = turn.step = None

    def _message_row(self, turn: Turn, message: MessageDoc) -> dict[str, Any]:
        return {
            "id": message["id"],
            "project": turn.project,
            "thread_id": turn.run["thread_id"],
            "run_id": turn.run["id"],
            "created_at": message["created_at"],
            "doc": encode(message),
        }

    async def finish(self, turn: Turn) -> None:
        calls = [turn.calls[i] for i in sorted(turn.calls)]
        if calls and turn.private["function_calls"] == "end_run":
            # A Response's function calls end it; their outputs come in the next one.
            turn.tool_step = _with_calls(turn, calls)
            await self.end(turn, "completed")
        elif calls:
            await self.require_action(turn, calls)
        elif turn.finish == "length" and _client_cap_reached(turn):
            await self.end(turn, "incomplete", incomplete={"reason": "max_completion_tokens"})
        elif turn.finish == "length":
            # The provider's own output cap (ASSISTANTD_EMBEDDED_MAX_TOKENS, an upstream's
            # limit), not one the client set: the message says it was cut (`max_tokens`,
            # as a chat completion would), and the run is not blamed on the client's limit.
            await self.end(turn, "completed", message_reason="max_tokens")
        else:
            await self.end(turn, "completed")

    def _closed_message(self, turn: Turn, status: str, reason: str | None) -> MessageDoc:
        """The turn's message, finished with everything the model wrote (a new document)."""
        assert turn.message is not None
        message = _copy(turn.message)
        now = clock.now()
        message["content"] = [
            *turn.lead,
            {"type": "text", "text": {"value": turn.text, "annotations": list(turn.annotations)}},
        ]
        if status == "completed":
            message["status"] = "completed"
            message["completed_at"] = now
        else:
            message["status"] = "incomplete"
            message["incomplete_at"] = now
            message["incomplete_details"] = {"reason": reason or "max_tokens"}
        return message

    def _usages(self, turn: Turn) -> tuple[UsageInfo, UsageInfo]:
        """The run's usage with this turn's added, and this turn's alone (for its steps)."""
        before = turn.run["usage"] or _usage(0, 0)
        total = _usage(
            before["prompt_tokens"] + turn.prompt_tokens,
            before["completion_tokens"] + turn.completion_tokens,
        )
        return total, _usage(turn.prompt_tokens, turn.completion_tokens)

    def _save_run(self, conn: Conn, run: RunDoc, private: RunPrivate) -> None:
        self.runs.save(
            conn, run["id"], encode(run), run["status"], run["expires_at"], encode(private)
        )

    def _current(self, conn: Conn, turn: Turn, usage: UsageInfo) -> RunDoc:
        """A copy of the turn's run with its status as stored now (a cancel may have come)."""
        run = _copy(turn.run)
        run["usage"] = usage
        run["status"] = self.runs.status(conn, run["id"]) or run["status"]
        return run

    async def end(
        self,
        turn: Turn,
        status: str,
        *,
        last_error: ErrorInfo | None = None,
        incomplete: dict[str, str] | None = None,
        message_reason: str | None = None,
    ) -> None:
        """End the run with `status`; its open message ends completed with it, or
        incomplete for `message_reason` (an answer cut short in a completed run)."""
        run_usage, step_usage = self._usages(turn)
        reasons = {"failed": "run_failed", "expired": "run_expired"}
        updates: dict[str, RunStepDoc] = {}
        for open_step in (turn.step, turn.tool_step):
            if open_step is not None:
                with_usage = open_step.copy()
                with_usage["usage"] = step_usage
                updates[with_usage["id"]] = with_usage

        def unit(conn: Conn) -> tuple[RunDoc, MessageDoc | None, list[RunStepDoc]]:
            run = self._current(conn, turn, run_usage)
            cancelling = run["status"] == "cancelling" and status == "completed"
            final = "cancelled" if cancelling else status
            run["last_error"] = last_error
            run["incomplete_details"] = incomplete
            if final != run["status"]:
                transition(run, final)
            message = None
            if turn.message is not None:
                if run["status"] == "cancelled":
                    message = self._closed_message(turn, "incomplete", "run_cancelled")
                elif status == "completed" and message_reason is not None:
                    message = self._closed_message(turn, "incomplete", message_reason)
                elif status == "completed":
                    message = self._closed_message(turn, "completed", None)
                else:
                    message = self._closed_message(turn, "incomplete", reasons.get(status))
                self.messages.replace(
                    conn, turn.project, run["thread_id"], message["id"], encode(message)
                )
            closed = close_open_work(self.runs, conn, run, updates)
            self._save_run(conn, run, turn.private)
            return run, message, closed

        run, message, closed = await self.db.write(unit)
        turn.run = run
        run_id = run["id"]
        if message is not None:
            turn.message = message
        await publish_docs(self.bus, run_id, ending_docs(run, closed, [message] if message else []))

    def _cancel_instead(
        self, conn: Conn, run: RunDoc, private: RunPrivate, step: RunStepDoc
    ) -> list[RunStepDoc] | None:
        """A cancel came while the turn ran: the run ends cancelled, `step` with it (the
        steps it closed); None if the run goes on."""
        if run["status"] != "cancelling":
            return None
        transition(run, "cancelled")
        closed = close_open_work(self.runs, conn, run, {step["id"]: step})
        self._save_run(conn, run, private)
        return closed

    async def complete_server_step(
        self, turn: Turn, entries: list[JSON], shown: list[JSON], private: RunPrivate
    ) -> bool:
        """Server tools ran: their step is completed with this turn's usage (streamed
        with the entries as `shown`), the run keeps going (its usage and private state
        saved). False if it was cancelled meanwhile."""
        run_usage, step_usage = self._usages(turn)
        assert turn.tool_step is not None
        open_step = _copy(turn.tool_step)
        open_step["step_details"]["tool_calls"] = entries
        open_step["usage"] = step_usage
        tool_step = end_step(open_step, "completed", clock.now())

        def unit(conn: Conn) -> tuple[RunDoc, list[RunStepDoc]]:
            run = self._current(conn, turn, run_usage)
            closed = self._cancel_instead(conn, run, private, open_step)
            if closed is not None:
                return run, closed
            self.runs.save_step(conn, run["id"], tool_step["id"], encode(tool_step))
            self._save_run(conn, run, private)
            return run, []

        run, closed = await self.db.write(unit)
        turn.run, turn.private, turn.tool_step = run, private, tool_step
        if run["status"] == "cancelled":
            await publish_docs(self.bus, run["id"], ending_docs(run, closed))
            return False
        streamed = _copy(tool_step)
        streamed["step_details"]["tool_calls"] = shown
        await publish_doc(self.bus, run["id"], "thread.run.step.completed", streamed)
        return True

    async def require_action(self, turn: Turn, calls: list[Call]) -> None:
        run_usage, step_usage = self._usages(turn)
        tool_step = _with_calls(turn, calls)
        tool_step["usage"] = step_usage
        required = {
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
        expires_at = clock.now() + self.requires_action_ttl_s

        def unit(conn: Conn) -> tuple[RunDoc, list[RunStepDoc]]:
            run = self._current(conn, turn, run_usage)
            closed = self._cancel_instead(conn, run, turn.private, tool_step)
            if closed is not None:
                return run, closed
            self.runs.save_step(conn, run["id"], tool_step["id"], encode(tool_step))
            transition(run, "requires_action")
            run["required_action"] = required
            run["expires_at"] = expires_at
            self._save_run(conn, run, turn.private)
            return run, []

        run, closed = await self.db.write(unit)
        turn.run, turn.tool_step = run, tool_step
        await publish_docs(self.bus, run["id"], ending_docs(run, closed))
