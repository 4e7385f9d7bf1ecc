"""RunService: start runs, read them, change their metadata, cancel them, answer their tool calls.

A run is executed by the engine's workers, never inside the request: creating one
only writes it `queued` (the runs table is the queue) and wakes a worker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import orjson

from assistantd import clock
from assistantd.errors import InvalidRequest, NotFound
from assistantd.events.bus import EventBus
from assistantd.ids import IdKind, new_id
from assistantd.protocol.common import ListParams
from assistantd.protocol.documents import ThreadDoc
from assistantd.protocol.objects import RunDoc, RunStepDoc
from assistantd.protocol.runs import (
    TERMINAL_STATUSES,
    RunCreate,
    RunUpdate,
    SubmitToolOutputs,
    ThreadAndRunCreate,
)
from assistantd.services.documents import encode
from assistantd.services.file_refs import message_refs, resource_refs, store_refs
from assistantd.services.files import FileService
from assistantd.services.messages import message_rows
from assistantd.services.run_docs import (
    check_tool_choice,
    new_private,
    run_doc,
    run_schemas,
    strip_search_content,
)
from assistantd.services.run_events import ending_docs, publish_docs
from assistantd.services.run_states import (
    answer_tool_calls,
    close_open_work,
    start_run,
    transition,
)
from assistantd.services.threads import thread_doc
from assistantd.services.tool_resources import (
    THREAD_STORE_DAYS,
    attach_to_thread_store,
    file_search_attachments,
    realize_stores,
)
from assistantd.services.vector_store_docs import check_store_refs
from assistantd.services.vector_stores import VectorStoreService
from assistantd.store.db import Database
from assistantd.store.repos.assistants import assistants_repo
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.pages import Page, render_list
from assistantd.store.repos.runs import runs_repo
from assistantd.store.repos.threads import threads_repo
from assistantd.store.sql import Conn

__all__ = ["RunService", "refuse_busy"]


class Dispatch(Protocol):
    """Who executes a run and how it hears of it (engine/dispatch.py)."""

    def reserve(self, streamed: bool) -> str | None:
        """The worker that must execute a run created now, or None for any worker."""
        ...

    def start_at_once(self, reserved_for: str) -> bool:
        """Whether the run may start in the write that creates it."""
        ...

    def started(self, run_id: str) -> None:
        """Execute a run created in progress."""
        ...

    async def queued(self, run_id: str, reserved_for: str | None) -> None: ...


class _NoWorker:
    """A RunService with no worker (tools that only read or write rows): runs wait."""

    def reserve(self, streamed: bool) -> str | None:
        return None

    def start_at_once(self, reserved_for: str) -> bool:
        return False

    def started(self, run_id: str) -> None:
        raise AssertionError("no run starts at once without a worker")

    async def queued(self, run_id: str, reserved_for: str | None) -> None:
        return None


# Until a worker starts it, a run shows OpenAI's ten-minute expiry.
QUEUED_EXPIRY_S = 600
# (model, JSON schema) → why that model cannot be held to the schema, or None.
SchemaCheck = Callable[[str, Any], Awaitable[str | None]]


def refuse_busy(conn: Conn, thread_id: str) -> None:
    """A thread runs one thing at a time: a run, or a response on it as a conversation."""
    active = runs_repo.active_run(conn, thread_id)
    if active is not None:
        raise InvalidRequest(
            f"Thread {thread_id} already has an active run {active}.",
            code="thread_locked",
        )


class RunService:
    def __init__(
        self,
        db: Database,
        files: FileService,
        *,
        bus: EventBus,
        dispatch: Dispatch | None = None,
        schema_problem: SchemaCheck | None = None,
        requires_action_ttl_s: int = 600,
        vector_stores: VectorStoreService | None = None,
    ) -> None:
        self.db = db
        self.vector_stores = vector_stores
        self.files = files
        self.dispatch = dispatch or _NoWorker()
        self.schema_problem = schema_problem
        self.bus = bus
        self.requires_action_ttl_s = requires_action_ttl_s
        self.repo = runs_repo
        self.assistants = assistants_repo
        self.threads = threads_repo
        self.messages = messages_repo

    async def _check_schemas(
        self, project: str, req: RunCreate | ThreadAndRunCreate, run_id: str
    ) -> None:
        """Refuse now, with a 400, schemas the run's model could never be held to (the
        embedded model's grammar limits), rather than fail the run later."""
        if self.schema_problem is None:
            return
        raw = await self.db.read(
            lambda conn: self.assistants.get_doc(conn, project, req.assistant_id)
        )
        if raw is None:
            return  # the create itself answers the 404
        # The run as it would be queued (the unit builds it again, from a fresh read).
        preview = run_doc(
            run_id=run_id,
            thread_id="",
            assistant=orjson.loads(raw),
            req=req,
            created_at=0,
            expires_at=0,
        )
        for param, schema in run_schemas(preview):
            problem = await self.schema_problem(preview["model"], schema)
            if problem is not None:
                raise InvalidRequest(
                    f"Invalid '{param}': {problem}.", param=param, code="invalid_schema"
                )

    def _new_run(
        self,
        conn: Conn,
        project: str,
        thread_id: str,
        req: RunCreate | ThreadAndRunCreate,
        run_id: str,
        reserve_for: str | None,
        include: Sequence[str] = (),
    ) -> str:
        """Insert a queued run on a thread that has no active one; returns its document."""
        raw = self.assistants.get_doc(conn, project, req.assistant_id)
        if raw is None:
            raise NotFound.object("assistant", req.assistant_id)
        refuse_busy(conn, thread_id)
        created_at = clock.now()
        doc = run_doc(
            run_id=run_id,
            thread_id=thread_id,
            assistant=orjson.loads(raw),
            req=req,
            created_at=created_at,
            expires_at=created_at + QUEUED_EXPIRY_S,
        )
        check_tool_choice(doc)
        private = new_private(
            additional_instructions=getattr(req, "additional_instructions", None),
            reasoning_effort=getattr(req, "reasoning_effort", None),
            include=include,
        )
        text = encode(doc)
        self.repo.insert(
            conn,
            {
                "id": run_id,
                "project": project,
                "thread_id": thread_id,
                "status": "queued",
                "created_at": created_at,
                "expires_at": doc["expires_at"],
                "worker": reserve_for,
                "heartbeat_at": created_at if reserve_for else None,
                "private": encode(private),
                "doc": text,
            },
        )
        return text

    def _claim_at_once(self, conn: Conn, text: str, reserve_for: str | None) -> RunDoc | None:
        """A run streamed by the process that will execute it starts in the unit that
        creates it: one write and one hand-over fewer before its first token (bench:
        time to first token). Its events still go created, queued, in_progress."""
        if reserve_for is None or not self.dispatch.start_at_once(reserve_for):
            return None
        return start_run(self.repo, conn, text, reserve_for)

    async def create(
        self,
        project: str,
        thread_id: str,
        req: RunCreate,
        run_id: str | None = None,
        streamed: bool = False,
        *,
        include: Sequence[str] = (),
    ) -> bytes:
        """Queue a run. A streaming caller picks `run_id` to subscribe to it first; the
        dispatch may reserve a streamed run for the worker whose events it can see."""
        run_id = run_id or new_id(IdKind.run)
        reserve_for = self.dispatch.reserve(streamed)
        await self._check_schemas(project, req, run_id)
        extra = req.additional_messages or []
        refs = [
            ref
            for i, m in enumerate(extra)
            for ref in message_refs(m, f"additional_messages[{i}].")
        ]
        rows = message_rows(extra, project=project, thread_id=thread_id, created_at=clock.now())

        def unit(conn: Conn) -> tuple[str, RunDoc | None]:
            if not self.repo.lock_thread(conn, project, thread_id):
                raise NotFound.object("thread", thread_id)
            self.files.check_refs(conn, project, refs)
            text = self._new_run(conn, project, thread_id, req, run_id, reserve_for, include)
            self.messages.insert_many(conn, rows)
            return text, self._claim_at_once(conn, text, reserve_for)

        text, claimed = await self.db.write(unit)
        await self._queued(text, reserve_for, claimed)
        return text.encode()

    async def _queued(
        self, text: str, reserve_for: str | None, claimed: RunDoc | None = None
    ) -> None:
        """Announce a newly queued run, then let a worker have it (or start it, if it
        was claimed as it was created)."""
        run = orjson.loads(text)
        docs = [("thread.run.created", run), ("thread.run.queued", run)]
        if claimed is not None:
            docs.append(("thread.run.in_progress", claimed))
        await publish_docs(self.bus, run["id"], docs)
        if claimed is not None:
            self.dispatch.started(run["id"])
            return
        await self.dispatch.queued(run["id"], reserve_for)

    async def create_thread_and_run(
        self,
        project: str,
        req: ThreadAndRunCreate,
        run_id: str | None = None,
        streamed: bool = False,
    ) -> tuple[bytes, bytes]:
        """The new thread's document and the run's."""
        run_id = run_id or new_id(IdKind.run)
        reserve_for = self.dispatch.reserve(streamed)
        await self._check_schemas(project, req, run_id)
        thread_req = req.thread
        thread_id = new_id(IdKind.thread)
        thread = thread_doc(
            thread_id=thread_id,
            created_at=clock.now(),
            metadata=thread_req.metadata if thread_req else None,
            tool_resources=req.tool_resources
            or (thread_req.tool_resources if thread_req else None),
        )
        messages = thread_req.messages if thread_req else []
        resources = req.tool_resources or (thread_req.tool_resources if thread_req else None)
        refs = resource_refs(resources)
        stores_named = store_refs(resources)
        for i, message in enumerate(messages):
            refs += message_refs(message, prefix=f"thread.messages[{i}].")
        rows = message_rows(messages, project=project, thread_id=thread_id, created_at=clock.now())
        attachments = file_search_attachments(messages, "thread.messages")

        def unit(conn: Conn) -> tuple[str, RunDoc | None]:
            self.files.check_refs(conn, project, refs)
            check_store_refs(conn, project, stores_named)
            made: ThreadDoc = {**thread, "tool_resources": dict(thread["tool_resources"])}
            if self.vector_stores is not None:
                realize_stores(
                    conn,
                    project,
                    made["tool_resources"],
                    self.vector_stores,
                    default_days=THREAD_STORE_DAYS,
                )
                attach_to_thread_store(conn, project, made, attachments, self.vector_stores)
            thread_text = encode(made)
            holder.append(thread_text)
            self.threads.insert(
                conn,
                {
                    "id": thread_id,
                    "project": project,
                    "created_at": thread["created_at"],
                    "doc": thread_text,
                },
            )
            self.messages.insert_many(conn, rows)
            text = self._new_run(conn, project, thread_id, req, run_id, reserve_for)
            return text, self._claim_at_once(conn, text, reserve_for)

        holder: list[str] = []
        text, claimed = await self.db.write(unit)
        if self.vector_stores is not None:
            self.vector_stores.wake()
        await self._queued(text, reserve_for, claimed)
        return holder[-1].encode(), text.encode()

    async def get(self, project: str, thread_id: str, run_id: str) -> bytes:
        doc = await self.db.read(lambda conn: self.repo.get_doc(conn, project, thread_id, run_id))
        if doc is None:
            raise NotFound.object("run", run_id)
        return doc

    async def list(self, project: str, thread_id: str, params: ListParams) -> bytes:
        def unit(conn: Conn) -> bytes:
            page = self.repo.page_in_thread(conn, project, thread_id, params)
            if not page.docs and self.threads.get_doc(conn, project, thread_id) is None:
                raise NotFound.object("thread", thread_id)
            return render_list(page)

        return await self.db.read(unit)

    def _load(self, conn: Conn, project: str, thread_id: str, run_id: str) -> tuple[RunDoc, str]:
        """The run's document, and its private state as stored (only the engine reads it)."""
        record = self.repo.load(conn, run_id)
        if record is None or record.project != project or record.thread_id != thread_id:
            raise NotFound.object("run", run_id)
        return orjson.loads(record.doc), record.private

    def _save(self, conn: Conn, doc: RunDoc, private: str) -> str:
        text = encode(doc)
        self.repo.save(conn, doc["id"], text, doc["status"], doc["expires_at"], private)
        return text

    async def update(self, project: str, thread_id: str, run_id: str, req: RunUpdate) -> bytes:
        def unit(conn: Conn) -> str:
            doc, private = self._load(conn, project, thread_id, run_id)
            if "metadata" in req.model_fields_set:
                doc["metadata"] = req.metadata or {}
            return self._save(conn, doc, private)

        return (await self.db.write(unit)).encode()

    async def cancel(self, project: str, thread_id: str, run_id: str) -> bytes:
        """Queued and waiting runs end at once; a running one is asked to stop (`cancelling`)."""

        def unit(conn: Conn) -> tuple[str, list[RunStepDoc]]:
            doc, private = self._load(conn, project, thread_id, run_id)
            status = doc["status"]
            if status in TERMINAL_STATUSES or status == "cancelling":
                raise InvalidRequest(
                    f"Cannot cancel run with status '{status}'.", code="run_not_cancellable"
                )
            steps: list[RunStepDoc] = []
            if status == "in_progress":
                transition(doc, "cancelling")  # the worker running it finishes the job
            else:
                transition(doc, "cancelled")
                steps = close_open_work(self.repo, conn, doc)
            return self._save(conn, doc, private), steps

        text, steps = await self.db.write(unit)
        run = orjson.loads(text)
        await publish_docs(self.bus, run_id, ending_docs(run, steps))
        return text.encode()

    async def submit_tool_outputs(
        self,
        project: str,
        thread_id: str,
        run_id: str,
        req: SubmitToolOutputs,
        streamed: bool = False,
    ) -> bytes:
        reserve_for = self.dispatch.reserve(streamed)

        def unit(conn: Conn) -> tuple[str, list[RunStepDoc]]:
            doc, private = self._load(conn, project, thread_id, run_id)
            answered = answer_tool_calls(self.repo, conn, doc, req)
            text = self._save(conn, doc, private)
            self.repo.set_worker(conn, run_id, reserve_for, clock.now())
            return text, answered

        text, answered = await self.db.write(unit)
        docs = [("thread.run.step.completed", step) for step in answered]
        docs.append(("thread.run.queued", orjson.loads(text)))
        await publish_docs(self.bus, run_id, docs)
        await self.dispatch.queued(run_id, reserve_for)
        return text.encode()

    async def get_step(
        self, project: str, thread_id: str, run_id: str, step_id: str, include: bool = False
    ) -> bytes:
        def unit(conn: Conn) -> bytes:
            if self.repo.get_doc(conn, project, thread_id, run_id) is None:
                raise NotFound.object("run", run_id)
            doc = self.repo.get_step(conn, project, run_id, step_id)
            if doc is None:
                raise NotFound.object("run step", step_id)
            return doc if include else strip_search_content(doc)

        return await self.db.read(unit)

    async def list_steps(
        self, project: str, thread_id: str, run_id: str, params: ListParams, include: bool = False
    ) -> bytes:
        def unit(conn: Conn) -> bytes:
            if self.repo.get_doc(conn, project, thread_id, run_id) is None:
                raise NotFound.object("run", run_id)
            page = self.repo.page_steps(conn, project, run_id, params)
            if not include:
                page = Page([strip_search_content(d) for d in page.docs], page.has_more)
            return render_list(page)

        return await self.db.read(unit)
