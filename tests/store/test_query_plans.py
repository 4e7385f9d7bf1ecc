"""SQLite reads each paged query by the index made for it. On a WITHOUT ROWID table its
planner otherwise prefers the primary key whenever that matches the first equality:
a page of one run's messages walked the whole thread (a response on a
100,000-message thread took 318 ms instead of 6; bench/RESULTS.md)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import orjson
import pytest

from assistantd.protocol.common import ListParams
from assistantd.store.db import open_database
from assistantd.store.migrate import upgrade
from assistantd.store.repos import responses
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.pages import _page_query, doc_id
from assistantd.store.repos.threads import threads_repo
from assistantd.store.sql import Conn, Query
from assistantd.store.tables import MessageRow, VectorStoreFileRow, table_of


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    asyncio.run(upgrade(f"sqlite:///{tmp_path / 'plans.db'}"))
    return sqlite3.connect(tmp_path / "plans.db")


def _plan(conn: sqlite3.Connection, query: Query, params: dict[str, object]) -> str:
    rows = conn.execute("EXPLAIN QUERY PLAN " + query.sqlite, query.sqlite_params(params))
    return " | ".join(str(row[3]) for row in rows)


@pytest.mark.parametrize("descending", [True, False])
def test_one_runs_messages_are_read_by_their_index(
    conn: sqlite3.Connection, descending: bool
) -> None:
    page = _page_query(
        table_of(MessageRow), ("thread_id", "project", "run_id"), descending, True, False
    )
    values = {"thread_id": "t", "project": "p", "run_id": "r", "after": "m", "limit": 21}
    assert "USING INDEX ix_messages_thread_id_run_id_id" in _plan(conn, page, values)
    own = _plan(conn, responses._MESSAGES, {"thread_id": "t", "run_id": "r"})
    assert "USING INDEX ix_messages_thread_id_run_id_id" in own


def test_a_threads_messages_stay_on_the_primary_key(conn: sqlite3.Connection) -> None:
    page = _page_query(table_of(MessageRow), ("thread_id", "project"), True, False, False)
    assert "PRIMARY KEY" in _plan(conn, page, {"thread_id": "t", "project": "p", "limit": 21})


def test_a_stores_files_by_status_use_their_index(conn: sqlite3.Connection) -> None:
    page = _page_query(
        table_of(VectorStoreFileRow), ("vector_store_id", "project", "status"), True, False, False
    )
    values = {"vector_store_id": "vs", "project": "p", "status": "completed", "limit": 21}
    assert "ix_vector_store_files_vector_store_id_status" in _plan(conn, page, values)


def test_the_hinted_page_answers_the_same_rows(tmp_path: Path) -> None:
    """The hint changes the plan, not the rows: one run's messages, newest first."""

    async def go() -> list[str]:
        url = f"sqlite:///{tmp_path / 'rows.db'}"
        await upgrade(url)
        db = open_database(url)
        thread = {"id": "t", "project": "p", "created_at": 1, "doc": "{}"}
        rows = [
            {"id": f"msg_{n}", "project": "p", "thread_id": "t", "run_id": run, "created_at": 1,
             "doc": orjson.dumps({"id": f"msg_{n}"}).decode()}
            for n, run in enumerate(["r", None, "r", "other", "r"])
        ]  # fmt: skip

        def write(conn: Conn) -> None:
            threads_repo.insert(conn, thread)
            messages_repo.insert_many(conn, rows)

        try:
            await db.write(write)
            page = await db.read(
                lambda c: messages_repo.page_in_thread(
                    c, project="p", thread_id="t", params=ListParams(limit=2), run_id="r"
                )
            )
            return [doc_id(d) for d in page.docs] + [str(page.has_more)]
        finally:
            await db.dispose()

    assert asyncio.run(go()) == ["msg_4", "msg_2", "True"]
