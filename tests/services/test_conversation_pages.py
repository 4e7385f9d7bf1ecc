"""A conversation's items in one order (services/conversation_pages.py), merged from
messages, run steps and stored items: every page, from every cursor, in both orders
and at every size, is the matching slice of the whole list. The run steps include the
awkward cases: a server tool's call whose id was minted before its step, two calls in
one step, a function call answered with an output, and a call deleted from the
conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from assistantd.ids import IdKind, new_id
from assistantd.services.conversation_items import item_key
from assistantd.services.conversation_pages import ItemReader, delete_item, find_item
from assistantd.store.db import Database, open_database
from assistantd.store.migrate import upgrade
from assistantd.store.repos.conversations import conversations_repo
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.runs import runs_repo
from assistantd.store.repos.threads import threads_repo
from assistantd.store.sql import Conn

PROJECT = "p"
THREAD = "thread_pages"


def _message(role: str, text: str) -> dict[str, Any]:
    message_id = new_id(IdKind.message)
    return {
        "id": message_id,
        "object": "thread.message",
        "created_at": 1,
        "assistant_id": None,
        "thread_id": THREAD,
        "run_id": None,
        "status": "completed",
        "incomplete_details": None,
        "completed_at": 1,
        "incomplete_at": None,
        "role": role,
        "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
        "attachments": [],
        "metadata": {},
    }


def _step(run_id: str, step_id: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": step_id,
        "object": "thread.run.step",
        "run_id": run_id,
        "thread_id": THREAD,
        "type": "tool_calls",
        "status": "completed",
        "step_details": {"type": "tool_calls", "tool_calls": calls},
    }


def _write(conn: Conn) -> list[str]:
    """The conversation, oldest first; the ids it should list, in that order."""
    doc = {"id": THREAD, "object": "thread", "created_at": 1, "metadata": {}}
    threads_repo.insert(
        conn, {"id": THREAD, "project": PROJECT, "created_at": 1, "doc": orjson.dumps(doc).decode()}
    )
    order: list[str] = []

    def message(role: str, text: str) -> None:
        doc = _message(role, text)
        row = {"id": doc["id"], "project": PROJECT, "thread_id": THREAD, "run_id": None}
        messages_repo.insert_many(
            conn, [{**row, "created_at": 1, "doc": orjson.dumps(doc).decode()}]
        )
        order.append(doc["id"])

    run_id = new_id(IdKind.run)
    runs_repo.insert(
        conn,
        {
            "id": run_id,
            "project": PROJECT,
            "thread_id": THREAD,
            "status": "completed",
            "created_at": 1,
            "expires_at": None,
            "worker": None,
            "heartbeat_at": None,
            "private": "{}",
            "doc": "{}",
        },
    )

    def step(calls: list[dict[str, Any]], step_id: str) -> None:
        row = {"run_id": run_id, "id": step_id, "project": PROJECT, "thread_id": THREAD}
        runs_repo.insert_step(
            conn, {**row, "doc": orjson.dumps(_step(run_id, step_id, calls)).decode()}
        )

    message("user", "one")
    # A server call's id is minted before its step opens.
    search = new_id(IdKind.tool_call)
    step([{"id": search, "type": "file_search", "file_search": {}}], new_id(IdKind.run_step))
    order.append("fs_" + search.removeprefix("call_"))
    message("assistant", "two")
    # Two function calls in one step, both answered; their ids come after the step's.
    step_id = new_id(IdKind.run_step)
    first, second = new_id(IdKind.tool_call), new_id(IdKind.tool_call)
    calls = [
        {"id": c, "type": "function", "function": {"name": "f", "arguments": "{}", "output": o}}
        for c, o in ((first, "a"), (second, "b"))
    ]
    step(calls, step_id)
    for call in (first, second):
        suffix = call.removeprefix("call_")
        order += ["fc_" + suffix, "fco_" + suffix]
    stored = {"type": "reasoning", "id": new_id(IdKind.reasoning_item), "summary": []}
    conversations_repo.insert(
        conn,
        [
            {
                "thread_id": THREAD,
                "id": stored["id"],
                "project": PROJECT,
                "key": stored["id"].removeprefix("rs_"),
                "type": "reasoning",
                "run_id": None,
                "created_at": 1,
                "doc": orjson.dumps(stored).decode(),
            }
        ],
    )
    order.append(stored["id"])
    message("user", "three")
    return order


@pytest.fixture
async def db(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    await upgrade(url)
    database = open_database(url)
    try:
        yield database
    finally:
        await database.dispose()


def _page(conn: Conn, *, descending: bool, after: str | None, limit: int) -> list[str]:
    reader = ItemReader(
        conn,
        PROJECT,
        THREAD,
        descending=descending,
        after=item_key(after) if after else None,
        batch=limit + 1,
    )
    return [item["id"] for _, item in reader.take(limit)]


async def test_every_page_is_a_slice_of_the_whole(db: Database) -> None:
    order = await db.write(_write)
    assert await db.read(lambda c: _page(c, descending=False, after=None, limit=100)) == order
    for descending in (False, True):
        whole = order[::-1] if descending else order
        for at, cursor in enumerate([None, *whole]):
            for limit in (1, 2, 3):
                page = await db.read(
                    lambda c, a=cursor, n=limit, d=descending: _page(
                        c, descending=d, after=a, limit=n
                    )
                )
                assert page == whole[at : at + limit], (descending, cursor, limit)


async def test_items_are_found_and_deleted_one_by_one(db: Database) -> None:
    order = await db.write(_write)
    for item_id in order:
        found = await db.read(lambda c, i=item_id: find_item(c, PROJECT, THREAD, i))
        assert found is not None
        assert found["id"] == item_id
    assert await db.read(lambda c: find_item(c, PROJECT, THREAD, "fc_nothing")) is None
    # A run's call is marked deleted; the run step keeps it.
    call = next(i for i in order if i.startswith("fc_"))
    assert await db.write(lambda c: delete_item(c, PROJECT, THREAD, call))
    assert not await db.write(lambda c: delete_item(c, PROJECT, THREAD, call))
    assert await db.read(lambda c: find_item(c, PROJECT, THREAD, call)) is None
    left = await db.read(lambda c: _page(c, descending=False, after=None, limit=100))
    assert left == [i for i in order if i != call]
    for item_id in left:
        assert await db.write(lambda c, i=item_id: delete_item(c, PROJECT, THREAD, i))
    assert await db.read(lambda c: _page(c, descending=True, after=None, limit=100)) == []
