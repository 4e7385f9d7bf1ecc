"""The writes that end a turn of a run, each in one transaction, each announced after it commits.

A turn opens an assistant message (and its message_creation step) or a tool_calls step
at its first token, and ends in one of three ways: the run ends (`end`), the run waits
for tool outputs (`require_action`), or text is followed by tool calls (`close_text`).
The documents change only here and in `services/run_states.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistantd import clock
from assistantd.events.bus import EventBus
from assistantd.ids import IdKind, new_id
from assistantd.services.documents import encode
from assistantd.services.run_docs import assistant_message_doc, step_doc
from assistantd.services.run_events import publish_doc, step_event
from assistantd.services.run_states import close_open_work, transition
from assistantd.store.db import Database
from assistantd.store.repos.messages import MessageRepository
from assistantd.store.repos.runs import RunRepository
from assistantd.store.sql import Conn

__all__ = ["Call", "Turn", "TurnWriter"]


@dataclass
class Call:
    id: str
    name: str = ""
    arguments: str = ""


@dataclass
class Turn:
    """What the model produced in this turn, and the documents it is writing."""

    run: dict[str, Any]
    private: dict[str, Any]
    project: str
    text: str = ""
    calls: dict[int, Call] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish: str | None = None
    message: dict[str, Any] | None = None
    step: dict[str, Any] | None = None
    tool_step: dict[str, Any] | None = None


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class TurnWriter:
    def __init__(self, db: Database, bus: EventBus, *, requires_action_ttl_s: int) -> None:
        self.db = db
        self.bus = bus
        self.requires_action_ttl_s = requires_action_ttl_s
        self.runs = RunRepository()
        self.messages = MessageRepository()

    def _insert_step(self, conn: Conn, turn: Turn, step: dict[str, Any]) -> None:
        row = {
            "run_id": turn.run["id"],
            "id": step["id"],
            "project": turn.project,
            "doc": encode(step),
        }
        self.runs.insert_step(conn, row)

    async def open_message(self, turn: Turn) -> None:
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

    async def open_tool_step(self, turn: Turn) -> None:
        if turn.message is not None:
            await self.close_text(turn)
        details = {"type": "tool_calls", "tool_calls": []}
        step = step_doc(
            step_id=new_id(IdKind.run_step), run=turn.run, created_at=clock.now(), details=details
        )
        turn.tool_step = step
        await self.db.write(lambda conn: self._insert_step(conn, turn, step))
        publish_doc(self.bus, turn.run["id"], "thread.run.step.created", step)
        publish_doc(self.bus, turn.run["id"], "thread.run.step.in_progress", step)

    async def close_text(self, turn: Turn) -> None:
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

    def _message_row(self, turn: Turn, message: dict[str, Any]) -> dict[str, Any]:
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
        if calls:
            await self.require_action(turn, calls)
        elif turn.finish == "length":
            await self.end(turn, "incomplete", incomplete={"reason": "max_completion_tokens"})
        else:
            await self.end(turn, "completed")

    def _close_message(self, turn: Turn, status: str, reason: str | None) -> dict[str, Any] | None:
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

    def _add_usage(self, turn: Turn) -> dict[str, int]:
        before = turn.run["usage"] or _usage(0, 0)
        turn.run["usage"] = _usage(
            before["prompt_tokens"] + turn.prompt_tokens,
            before["completion_tokens"] + turn.completion_tokens,
        )
        return _usage(turn.prompt_tokens, turn.completion_tokens)

    def _save_run(self, conn: Conn, turn: Turn) -> None:
        run = turn.run
        self.runs.save(
            conn, run["id"], encode(run), run["status"], run["expires_at"], encode(turn.private)
        )

    async def end(
        self,
        turn: Turn,
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

    async def require_action(self, turn: Turn, calls: list[Call]) -> None:
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
