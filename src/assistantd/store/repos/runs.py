"""Run and run step queries, including the queue: claiming, heartbeats, stale and expired runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update

from assistantd.protocol.common import ListParams
from assistantd.protocol.runs import ACTIVE_STATUSES
from assistantd.store.repos.pages import Page, fetch_page
from assistantd.store.sql import Conn, Query, as_bytes, one_of
from assistantd.store.tables import RunRow, RunStepRow, ThreadRow, table_of

__all__ = ["RunRecord", "RunRepository", "runs_repo"]

_runs = table_of(RunRow)
_steps = table_of(RunStepRow)
_threads = table_of(ThreadRow)

_in_thread = (
    _runs.c.id == bindparam("id"),
    _runs.c.thread_id == bindparam("thread_id"),
    _runs.c.project == bindparam("project"),
)
_INSERT = Query(insert(_runs))
_GET = Query(select(as_bytes(_runs.c.doc)).where(*_in_thread))
_GET_FULL = Query(
    select(_runs.c.doc, _runs.c.private, _runs.c.project, _runs.c.thread_id)
    .where(_runs.c.id == bindparam("id"))
    .with_for_update()
)
_STATUS = Query(select(_runs.c.status).where(_runs.c.id == bindparam("id")))
_PRIVATE = Query(select(_runs.c.private).where(_runs.c.id == bindparam("id")))
_ACTIVE = Query(
    select(_runs.c.id)
    .where(_runs.c.thread_id == bindparam("thread_id"), one_of(_runs.c.status, ACTIVE_STATUSES))
    .limit(1)
)
_SAVE = Query(
    update(_runs)
    .where(_runs.c.id == bindparam("key_id"))
    .values(
        doc=bindparam("doc"),
        status=bindparam("status"),
        expires_at=bindparam("expires_at"),
        private=bindparam("private"),
    )
)
# A queued run may be reserved for one worker (a streamed run, for the process that
# holds the stream); others pass it by.
_CLAIM_CANDIDATE = Query(
    select(_runs.c.doc)
    .where(
        _runs.c.status == "queued",
        or_(_runs.c.worker.is_(None), _runs.c.worker == bindparam("worker")),
    )
    .order_by(_runs.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_CLAIM_THIS = Query(
    select(_runs.c.doc)
    .where(_runs.c.id == bindparam("id"), _runs.c.status == "queued")
    .with_for_update(skip_locked=True)
)
_RELEASE_STALE = Query(
    update(_runs)
    .where(
        _runs.c.status == "queued",
        _runs.c.worker.is_not(None),
        _runs.c.heartbeat_at < bindparam("before"),
    )
    .values(worker=None)
)
_RELEASE_MINE = Query(
    update(_runs)
    .where(_runs.c.status == "queued", _runs.c.worker == bindparam("key_worker"))
    .values(worker=None)
)
_QUEUED = Query(
    select(func.count(), func.min(_runs.c.created_at)).where(_runs.c.status == "queued")
)
# A claim in one statement: the run's new document and who now runs it.
_SAVE_CLAIMED = Query(
    update(_runs)
    .where(_runs.c.id == bindparam("key_id"))
    .values(
        doc=bindparam("doc"),
        status=bindparam("status"),
        expires_at=bindparam("expires_at"),
        worker=bindparam("worker"),
        heartbeat_at=bindparam("now"),
    )
)
_LIVENESS = Query(select(_runs.c.worker, _runs.c.heartbeat_at).where(_runs.c.id == bindparam("id")))
_SET_WORKER = Query(
    update(_runs)
    .where(_runs.c.id == bindparam("key_id"))
    .values(worker=bindparam("worker"), heartbeat_at=bindparam("now"))
)
_HEARTBEAT = Query(
    update(_runs)
    .where(_runs.c.worker == bindparam("key_worker"), one_of(_runs.c.status, ACTIVE_STATUSES))
    .values(heartbeat_at=bindparam("now"))
)
_STALE = Query(
    select(_runs.c.id, _runs.c.worker)
    .where(
        one_of(_runs.c.status, ("in_progress", "cancelling")),
        _runs.c.heartbeat_at < bindparam("before"),
    )
    .limit(100)
)
_EXPIRED = Query(
    select(_runs.c.id)
    .where(_runs.c.status == "requires_action", _runs.c.expires_at <= bindparam("now"))
    .limit(100)
)
_LOCK_THREAD = Query(
    select(_threads.c.id)
    .where(_threads.c.id == bindparam("thread_id"), _threads.c.project == bindparam("project"))
    .with_for_update()
)
_STEP_INSERT = Query(insert(_steps))
_STEP_GET = Query(
    select(as_bytes(_steps.c.doc)).where(
        _steps.c.run_id == bindparam("run_id"),
        _steps.c.id == bindparam("id"),
        _steps.c.project == bindparam("project"),
    )
)
_STEP_SAVE = Query(
    update(_steps)
    .where(_steps.c.run_id == bindparam("key_run_id"), _steps.c.id == bindparam("key_id"))
    .values(doc=bindparam("doc"))
)
_STEP_DOCS = Query(
    select(_steps.c.doc).where(_steps.c.run_id == bindparam("run_id")).order_by(_steps.c.id)
)


class RunRecord:
    """A run as the engine handles it: its document, its private request, where it lives."""

    __slots__ = ("doc", "private", "project", "thread_id")

    def __init__(self, doc: str, private: str, project: str, thread_id: str) -> None:
        self.doc = doc
        self.private = private
        self.project = project
        self.thread_id = thread_id


class RunRepository:
    table = _runs

    def lock_thread(self, conn: Conn, project: str, thread_id: str) -> bool:
        """Lock the thread row (PostgreSQL) so two runs cannot start on it at once."""
        return conn.first(_LOCK_THREAD, {"thread_id": thread_id, "project": project}) is not None

    def active_run(self, conn: Conn, thread_id: str) -> str | None:
        row = conn.first(_ACTIVE, {"thread_id": thread_id})
        return row[0] if row else None

    def insert(self, conn: Conn, values: Mapping[str, Any]) -> None:
        conn.execute(_INSERT, values)

    def status(self, conn: Conn, run_id: str) -> str | None:
        row = conn.first(_STATUS, {"id": run_id})
        return row[0] if row else None

    def private(self, conn: Conn, run_id: str) -> str | None:
        """The run's private document (no lock: for readers)."""
        row = conn.first(_PRIVATE, {"id": run_id})
        return row[0] if row else None

    def get_doc(self, conn: Conn, project: str, thread_id: str, run_id: str) -> bytes | None:
        row = conn.first(_GET, {"id": run_id, "thread_id": thread_id, "project": project})
        return row[0] if row else None

    def load(self, conn: Conn, run_id: str) -> RunRecord | None:
        """The run, row locked, whoever it belongs to (callers check the project)."""
        row = conn.first(_GET_FULL, {"id": run_id})
        return RunRecord(row[0], row[1], row[2], row[3]) if row else None

    def save(
        self, conn: Conn, run_id: str, doc: str, status: str, expires_at: int | None, private: str
    ) -> None:
        conn.execute(
            _SAVE,
            {
                "key_id": run_id,
                "doc": doc,
                "status": status,
                "expires_at": expires_at,
                "private": private,
            },
        )

    def page_in_thread(self, conn: Conn, project: str, thread_id: str, params: ListParams) -> Page:
        return fetch_page(conn, _runs, {"thread_id": thread_id, "project": project}, params)

    def claim_candidate(self, conn: Conn, worker: str, run_id: str | None = None) -> str | None:
        """The document of the oldest queued run this worker may take (or of `run_id`
        if it is still queued), its row locked, read in the statement that found it."""
        if run_id is not None:
            row = conn.first(_CLAIM_THIS, {"id": run_id})
        else:
            row = conn.first(_CLAIM_CANDIDATE, {"worker": worker})
        return row[0] if row else None

    def save_claimed(
        self, conn: Conn, run_id: str, doc: str, expires_at: int | None, worker: str, now: int
    ) -> None:
        values = {"doc": doc, "status": "in_progress", "expires_at": expires_at}
        conn.execute(_SAVE_CLAIMED, {"key_id": run_id, **values, "worker": worker, "now": now})

    def release_stale_reservations(self, conn: Conn, before: int) -> None:
        """Queued runs reserved by a process that stopped heartbeating go back to all."""
        conn.execute(_RELEASE_STALE, {"before": before})

    def release_reservations(self, conn: Conn, worker: str) -> None:
        """Queued runs reserved for `worker` (which is stopping) go back to all."""
        conn.execute(_RELEASE_MINE, {"key_worker": worker})

    def queue(self, conn: Conn) -> tuple[int, int | None]:
        """How many runs wait for a worker, and when the oldest of them was created."""
        row = conn.first(_QUEUED, {})
        return (int(row[0]), row[1]) if row else (0, None)

    def liveness(self, conn: Conn, run_id: str) -> tuple[str | None, int | None]:
        """The worker that holds the run, and its last heartbeat."""
        row = conn.first(_LIVENESS, {"id": run_id})
        return (row[0], row[1]) if row else (None, None)

    def set_worker(self, conn: Conn, run_id: str, worker: str | None, now: int) -> None:
        conn.execute(_SET_WORKER, {"key_id": run_id, "worker": worker, "now": now})

    def heartbeat(self, conn: Conn, worker: str, now: int) -> None:
        conn.execute(_HEARTBEAT, {"key_worker": worker, "now": now})

    def stale(self, conn: Conn, before: int) -> list[tuple[str, str | None]]:
        """Running runs whose worker has not heartbeaten since `before`, with that worker."""
        return [(r[0], r[1]) for r in conn.all(_STALE, {"before": before})]

    def expired(self, conn: Conn, now: int) -> list[str]:
        return [r[0] for r in conn.all(_EXPIRED, {"now": now})]

    # run steps

    def insert_step(self, conn: Conn, values: Mapping[str, Any]) -> None:
        conn.execute(_STEP_INSERT, values)

    def save_step(self, conn: Conn, run_id: str, step_id: str, doc: str) -> None:
        conn.execute(_STEP_SAVE, {"key_run_id": run_id, "key_id": step_id, "doc": doc})

    def get_step(self, conn: Conn, project: str, run_id: str, step_id: str) -> bytes | None:
        row = conn.first(_STEP_GET, {"run_id": run_id, "id": step_id, "project": project})
        return row[0] if row else None

    def step_docs(self, conn: Conn, run_id: str) -> list[str]:
        return [r[0] for r in conn.all(_STEP_DOCS, {"run_id": run_id})]

    def page_steps(self, conn: Conn, project: str, run_id: str, params: ListParams) -> Page:
        return fetch_page(conn, _steps, {"run_id": run_id, "project": project}, params)


# The one instance of each: repositories hold compiled statements and no state.
runs_repo = RunRepository()
