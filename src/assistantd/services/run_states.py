"""The run state machine (CONTRACT.md section 6), and the changes each transition makes.

Every status change of a run goes through `transition`, which refuses moves the
contract does not allow and stamps the matching `*_at` field. Steps and messages the
run left unfinished are closed by `close_open_work` in the same transaction.
"""

from __future__ import annotations

from typing import Any

import orjson

from assistantd import clock
from assistantd.errors import InvalidRequest
from assistantd.protocol.runs import SubmitToolOutputs
from assistantd.services.documents import encode
from assistantd.store.repos.runs import RunRepository
from assistantd.store.sql import Conn

__all__ = ["TRANSITIONS", "IllegalTransition", "answer_tool_calls", "close_open_work", "transition"]

TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"in_progress", "cancelled", "failed", "expired"}),
    "in_progress": frozenset(
        {
            "requires_action",
            "completed",
            "incomplete",
            "failed",
            "cancelling",
            "cancelled",
            "expired",
        }
    ),
    "requires_action": frozenset({"queued", "cancelled", "expired", "failed"}),
    "cancelling": frozenset({"cancelled", "failed", "completed", "incomplete"}),
    "cancelled": frozenset(),
    "failed": frozenset(),
    "completed": frozenset(),
    "incomplete": frozenset(),
    "expired": frozenset(),
}
_STAMP = {
    "in_progress": "started_at",
    "cancelled": "cancelled_at",
    "failed": "failed_at",
    "completed": "completed_at",
}
# What an unfinished step becomes, and the timestamp it gets, when its run ends so.
_STEP_END = {
    "cancelled": ("cancelled", "cancelled_at"),
    "failed": ("failed", "failed_at"),
    "expired": ("expired", "expired_at"),
    "incomplete": ("completed", "completed_at"),  # the message exists, cut short
    "completed": ("completed", "completed_at"),
}


class IllegalTransition(RuntimeError):
    """A bug: code tried a status change the state machine forbids."""


def transition(run: dict[str, Any], to: str) -> None:
    current = run["status"]
    if to not in TRANSITIONS[current]:
        raise IllegalTransition(f"run {run['id']}: {current} -> {to} is not allowed")
    run["status"] = to
    if to in _STAMP and (to != "in_progress" or run["started_at"] is None):
        run[_STAMP[to]] = clock.now()
    if to != "requires_action":
        run["required_action"] = None


def close_open_work(
    repo: RunRepository,
    conn: Conn,
    run: dict[str, Any],
    updates: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """End the run's in-progress steps the way the run itself ended; returns them.

    `updates` (step id → document) replaces stored steps first, for a caller that
    changed a step in memory (its usage) in the same transaction.
    """
    status, stamp = _STEP_END.get(run["status"], ("failed", "failed_at"))
    now = clock.now()
    closed = []
    for text in repo.step_docs(conn, run["id"]):
        step = orjson.loads(text)
        step = (updates or {}).get(step["id"], step)
        if step["status"] != "in_progress":
            continue
        step["status"] = status
        step[stamp] = now
        if status == "failed" and run.get("last_error"):
            step["last_error"] = run["last_error"]
        repo.save_step(conn, run["id"], step["id"], encode(step))
        closed.append(step)
    return closed


def answer_tool_calls(
    repo: RunRepository, conn: Conn, run: dict[str, Any], req: SubmitToolOutputs
) -> list[dict[str, Any]]:
    """Record outputs for every pending tool call and queue the run again."""
    if run["status"] != "requires_action":
        raise InvalidRequest(
            f'Runs in status "{run["status"]}" do not accept tool outputs.',
            code="run_not_waiting",
        )
    if run["expires_at"] is not None and run["expires_at"] <= clock.now():
        raise InvalidRequest(f"Run {run['id']} has expired.", code="run_expired")
    pending = [c["id"] for c in run["required_action"]["submit_tool_outputs"]["tool_calls"]]
    outputs: dict[str, str] = {}
    for i, item in enumerate(req.tool_outputs):
        if item.tool_call_id not in pending or item.tool_call_id in outputs:
            raise InvalidRequest(
                f"Invalid 'tool_outputs[{i}].tool_call_id': '{item.tool_call_id}' is not a "
                "pending tool call of this run, or is answered twice.",
                param=f"tool_outputs[{i}].tool_call_id",
                code="invalid_tool_call_id",
            )
        outputs[item.tool_call_id] = item.output
    missing = [call_id for call_id in pending if call_id not in outputs]
    if missing:
        raise InvalidRequest(
            f"Expected tool outputs for call_ids {pending}, got {list(outputs)}.",
            param="tool_outputs",
            code="missing_tool_outputs",
        )
    answered = []
    for text in repo.step_docs(conn, run["id"]):
        step = orjson.loads(text)
        if step["type"] != "tool_calls" or step["status"] != "in_progress":
            continue
        for call in step["step_details"]["tool_calls"]:
            if call["type"] == "function" and call["id"] in outputs:
                call["function"]["output"] = outputs[call["id"]]
        step["status"] = "completed"
        step["completed_at"] = clock.now()
        repo.save_step(conn, run["id"], step["id"], encode(step))
        answered.append(step)
    transition(run, "queued")
    return answered
