"""The run state machine: every allowed move stamps its time; every other move is refused."""

from __future__ import annotations

from typing import Any

import pytest

from assistantd.protocol.runs import TERMINAL_STATUSES
from assistantd.services.run_states import TRANSITIONS, IllegalTransition, transition

STATUSES = list(TRANSITIONS)


def _run(status: str) -> dict[str, Any]:
    return {
        "id": "run_x",
        "status": status,
        "started_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": {"type": "submit_tool_outputs"},
    }


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_only_listed_transitions_are_allowed(source: str, target: str) -> None:
    run = _run(source)
    if target in TRANSITIONS[source]:
        transition(run, target)
        assert run["status"] == target
    else:
        with pytest.raises(IllegalTransition):
            transition(run, target)
        assert run["status"] == source


def test_terminal_states_are_final() -> None:
    assert all(TRANSITIONS[s] == frozenset() for s in TERMINAL_STATUSES)


@pytest.mark.parametrize(
    ("source", "target", "stamp"),
    [
        ("queued", "in_progress", "started_at"),
        ("in_progress", "completed", "completed_at"),
        ("in_progress", "failed", "failed_at"),
        ("cancelling", "cancelled", "cancelled_at"),
    ],
)
def test_transitions_stamp_their_time(source: str, target: str, stamp: str) -> None:
    run = _run(source)
    transition(run, target)
    assert isinstance(run[stamp], int)


def test_leaving_requires_action_clears_it_and_restarting_keeps_started_at() -> None:
    run = _run("requires_action")
    run["started_at"] = 123
    transition(run, "queued")
    assert run["required_action"] is None
    transition(run, "in_progress")
    assert run["started_at"] == 123
