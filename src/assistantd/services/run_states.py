"""The run state machine (docs/contract.md, "Run states"), and the changes each transition makes.

Every status change of a run goes through `transition`, which refuses moves the
contract does not allow and stamps the matching `*_at` field. Steps and messages the
run left unfinished are closed by `close_open_work` in the same transaction.
"""

from __future__ import annotations

import orjson

from assistantd import clock
from assistantd.errors import InvalidRequest
from assistantd.protocol.objects import MessageDoc, RunDoc, RunStepDoc
from assistantd.protocol.runs import SubmitToolOutputs
from assistantd.services.documents import encode
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.runs import RunRepository
from assistantd.store.sql import Conn

__all__ = [
    "TRANSITIONS",
    "IllegalTransition",
    "answer_tool_calls",
    "close_open_messages",
    "close_open_work",
    "end_step",
    "start_run",
    "transition",
]

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
# What an unfinished step becomes when its run ends so.
_STEP_END = {
    "cancelled": "cancelled",
    "failed": "failed",
    "expired": "expired",
    "incomplete": "completed",  # the message exists, cut short
    "completed": "completed",
}


class IllegalTransition(RuntimeError):
    """A bug: code tried a status change the state machine forbids."""


def transition(run: RunDoc, to: str) -> None:
    current = run["status"]
    if to not in TRANSITIONS[current]:
        raise IllegalTransition(f"run {run['id']}: {current} -> {to} is not allowed")
    run["status"] = to
    now = clock.now()
    if to == "in_progress" and run["started_at"] is None:
        run["started_at"] = now
    elif to == "cancelled":
        run["cancelled_at"] = now
    elif to == "failed":
        run["failed_at"] = now
    elif to == "completed":
        run["completed_at"] = now
    if to != "requires_action":
        run["required_action"] = None


def start_run(repo: RunRepository, conn: Conn, doc: str, worker: str) -> RunDoc:
    """A queued run (its stored document) taken by `worker`: in progress, saved."""
    run: RunDoc = orjson.loads(doc)
    transition(run, "in_progress")
    repo.save_claimed(conn, run["id"], encode(run), run["expires_at"], worker, clock.now())
    return run


def end_step(step: RunStepDoc, status: str, now: int) -> RunStepDoc:
    """A copy of `step`, ended with `status` and its matching timestamp."""
    ended = step.copy()
    ended["status"] = status
    if status == "cancelled":
        ended["cancelled_at"] = now
    elif status == "failed":
        ended["failed_at"] = now
    elif status == "expired":
        ended["expired_at"] = now
    else:
        ended["completed_at"] = now
    return ended


def close_open_work(
    repo: RunRepository,
    conn: Conn,
    run: RunDoc,
    updates: dict[str, RunStepDoc] | None = None,
) -> list[RunStepDoc]:
    """End the run's in-progress steps the way the run itself ended; returns them.

    `updates` (step id → document) replaces stored steps first, for a caller that
    changed a step in memory (its usage) in the same transaction. Nothing given is
    changed: a unit of work may run twice, and must find its inputs as they were.
    """
    status = _STEP_END.get(run["status"], "failed")
    now = clock.now()
    closed = []
    for text in repo.step_docs(conn, run["id"]):
        stored: RunStepDoc = orjson.loads(text)
        step = (updates or {}).get(stored["id"], stored)
        if step["status"] != "in_progress":
            continue
        step = end_step(step, status, now)
        if status == "failed" and run["last_error"]:
            step["last_error"] = run["last_error"]
        repo.save_step(conn, run["id"], step["id"], encode(step))
        closed.append(step)
    return closed


_MESSAGE_REASON = {"cancelled": "run_cancelled", "expired": "run_expired"}


def close_open_messages(
    conn: Conn, run: RunDoc, project: str, closed_steps: list[RunStepDoc]
) -> list[MessageDoc]:
    """End, as incomplete, the messages of message_creation steps just closed that a
    worker left in progress (it died, or shutdown cut it short); returns them."""
    repo = messages_repo
    ended: list[MessageDoc] = []
    for step in closed_steps:
        if step["type"] != "message_creation":
            continue
        message_id = step["step_details"]["message_creation"]["message_id"]
        raw = repo.get_doc_for_update(conn, project, run["thread_id"], message_id)
        if raw is None:
            continue
        message: MessageDoc = orjson.loads(raw)
        if message["status"] != "in_progress":
            continue
        message["status"] = "incomplete"
        message["incomplete_at"] = clock.now()
        message["incomplete_details"] = {"reason": _MESSAGE_REASON.get(run["status"], "run_failed")}
        repo.replace(conn, project, run["thread_id"], message_id, encode(message))
        ended.append(message)
    return ended


def answer_tool_calls(
    repo: RunRepository, conn: Conn, run: RunDoc, req: SubmitToolOutputs
) -> list[RunStepDoc]:
    """Record outputs for every pending tool call and queue the run again."""
    if run["status"] != "requires_action":
        raise InvalidRequest(
            f'Runs in status "{run["status"]}" do not accept tool outputs.',
            code="run_not_waiting",
        )
    if run["expires_at"] is not None and run["expires_at"] <= clock.now():
        raise InvalidRequest(f"Run {run['id']} has expired.", code="run_expired")
    required = run["required_action"]
    assert required is not None  # requires_action always carries it
    pending = [c["id"] for c in required["submit_tool_outputs"]["tool_calls"]]
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
        stored: RunStepDoc = orjson.loads(text)
        if stored["type"] != "tool_calls" or stored["status"] != "in_progress":
            continue
        for call in stored["step_details"]["tool_calls"]:
            if call["type"] == "function" and call["id"] in outputs:
                call["function"]["output"] = outputs[call["id"]]
        step = end_step(stored, "completed", clock.now())
        repo.save_step(conn, run["id"], step["id"], encode(step))
        answered.append(step)
    transition(run, "queued")
    return answered
