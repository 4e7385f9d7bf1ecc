"""ResponseService: the Responses API over the run engine.

A response is a run on a thread of its own (docs/responses.md, "One engine"): its
input items are kept on the response, its tools become the run's (file_search's
vector stores and code_interpreter's files become the thread's tool resources), and
its run is queued, executed, streamed, cancelled and reaped like any other. Two
differences live here and in the run's private state, not in a copy of the engine:
the run reads its prompt from the response chain (`history: "response"`), and a
function call ends it (`function_calls: "end_run"`) where an Assistants run would wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson

from assistantd import clock
from assistantd.errors import InvalidRequest, NotFound
from assistantd.events.bus import EventBus
from assistantd.ids import IdKind, new_id
from assistantd.protocol.common import ListParams
from assistantd.protocol.documents import ThreadDoc
from assistantd.protocol.objects import RunDoc
from assistantd.protocol.responses import (
    InputTokensCreate,
    ResponseCreate,
)
from assistantd.providers.base import Providers
from assistantd.services.assistant_prompt import assistant_id, with_assistant
from assistantd.services.conversation_history import ConversationReader
from assistantd.services.conversation_items import mint
from assistantd.services.documents import encode
from assistantd.services.files import FileService
from assistantd.services.item_writes import append_items, resolve_references
from assistantd.services.response_docs import response_doc
from assistantd.services.response_history import ChainReader
from assistantd.services.response_input import file_parts, input_items, shown
from assistantd.services.response_request import (
    conversation_id,
    echoed,
    model_of,
    refuse_unsupported,
    run_doc,
    run_private,
)
from assistantd.services.response_tools import run_tools
from assistantd.services.run_docs import check_tool_choice, run_schemas
from assistantd.services.run_events import publish_docs
from assistantd.services.run_states import start_run
from assistantd.services.runs import Dispatch, RunService, SchemaCheck, refuse_busy
from assistantd.services.vector_store_docs import check_store_refs
from assistantd.store.db import Database
from assistantd.store.repos.assistants import assistants_repo
from assistantd.store.repos.pages import Page, render_list
from assistantd.store.repos.responses import ResponseRecord, RunOutput, responses_repo
from assistantd.store.repos.runs import runs_repo
from assistantd.store.repos.threads import threads_repo
from assistantd.store.sql import Conn

__all__ = ["ResponseService"]

JSON = dict[str, Any]


class FileTextReader(Protocol):
    async def __call__(self, project: str, file_id: str, param: str) -> tuple[str, str]:
        """(a File's name, its text), parsed out of the API process (engine/file_text.py);
        a 400 naming `param` if it cannot be."""
        ...


# input_tokens reads a chain back at most this far (no model window holds more).
_COUNT_MAX_MESSAGES = 10_000


class ResponseService:
    def __init__(
        self,
        db: Database,
        files: FileService,
        runs: RunService,
        *,
        bus: EventBus,
        dispatch: Dispatch,
        providers: Providers,
        file_text: FileTextReader | None = None,
        schema_problem: SchemaCheck | None = None,
    ) -> None:
        self.db = db
        self.files = files
        self.runs = runs
        self.bus = bus
        self.dispatch = dispatch
        self.providers = providers
        self.file_text = file_text
        self.schema_problem = schema_problem
        self.repo = responses_repo

    async def _check_schemas(self, run: RunDoc) -> None:
        if self.schema_problem is None:
            return
        for param, schema in run_schemas(run):
            problem = await self.schema_problem(run["model"], schema)
            if problem is not None:
                param = param.replace("response_format.json_schema", "text.format")
                raise InvalidRequest(
                    f"Invalid '{param}': {problem}.", param=param, code="invalid_schema"
                )

    async def create(
        self, project: str, req: ResponseCreate, response_id: str, run_id: str, streamed: bool
    ) -> ResponseRecord:
        """Write the response and queue its run (or start it, reserved for this process)."""
        prompt = assistant_id(req)
        if prompt is not None:
            req = await self._with_assistant(project, req, prompt)
        refuse_unsupported(req)
        conversation = conversation_id(req)
        items, file_refs, references = input_items(req.input)
        if not items and req.previous_response_id is None and conversation is None:
            raise InvalidRequest(
                "Missing required parameter: 'input'.",
                param="input",
                code="missing_required_parameter",
            )
        _tools, resources, stores, tool_refs = run_tools(req.tools or [])
        await self._read_files(project, items)
        now = clock.now()
        thread_id = conversation or new_id(IdKind.thread)
        run = run_doc(req, run_id, thread_id, now)
        if prompt is not None:
            run["assistant_id"] = prompt  # the Assistants API shows whose run it is
        check_tool_choice(run)
        await self._check_schemas(run)
        echo = echoed(req, now, run["model"])
        private = run_private(req)
        if conversation is not None:
            # Prompted from the conversation, with its own tools' resources.
            echo["conversation"] = {"id": conversation}
            private = {**private, "history": "conversation", "tool_resources": resources}
        thread: ThreadDoc = {
            "id": thread_id,
            "object": "thread",
            "created_at": now,
            "metadata": {},
            "tool_resources": resources,
        }
        reserve_for = self.dispatch.reserve(streamed)

        def unit(conn: Conn) -> tuple[ResponseRecord, RunDoc | None]:
            previous = req.previous_response_id
            if previous is not None:
                self._check_previous(conn, project, previous)
            stored = resolve_references(conn, project, items, references)
            self.files.check_refs(conn, project, [*file_refs, *tool_refs])
            check_store_refs(conn, project, stores)
            if conversation is not None:
                # Refused while a run or another response is active on it, as a
                # second run would be; the input is appended before the run starts.
                if not runs_repo.lock_thread(conn, project, conversation):
                    raise NotFound.object("conversation", conversation)
                refuse_busy(conn, conversation)
                stored = [mint(item) for item in stored]
                append_items(conn, project, conversation, stored, now)
            else:
                row = {"id": thread_id, "project": project, "created_at": now}
                threads_repo.insert(conn, {**row, "doc": encode(thread), "listed": 0})
            text = encode(run)
            runs_repo.insert(
                conn,
                {
                    "id": run_id,
                    "project": project,
                    "thread_id": thread_id,
                    "status": "queued",
                    "created_at": now,
                    "expires_at": run["expires_at"],
                    "worker": reserve_for,
                    "heartbeat_at": now if reserve_for else None,
                    "private": encode(private),
                    "doc": text,
                },
            )
            record = ResponseRecord(
                id=response_id,
                project=project,
                thread_id=thread_id,
                run_id=run_id,
                previous_response_id=previous,
                doc=encode(echo),
                input=orjson.dumps(stored).decode(),
            )
            self.repo.insert(conn, {**record_row(record), "created_at": now})
            claimed = None
            if reserve_for is not None and self.dispatch.start_at_once(reserve_for):
                claimed = start_run(runs_repo, conn, text, reserve_for)
            return record, claimed

        record, claimed = await self.db.write(unit)
        events: list[tuple[str, Mapping[str, Any]]] = [
            ("thread.run.created", run),
            ("thread.run.queued", run),
        ]
        if claimed is not None:
            events.append(("thread.run.in_progress", claimed))
        await publish_docs(self.bus, run_id, events)
        if claimed is not None:
            self.dispatch.started(run_id)
        else:
            await self.dispatch.queued(run_id, reserve_for)
        return record

    async def _with_assistant(
        self, project: str, req: ResponseCreate, prompt: str
    ) -> ResponseCreate:
        found = await self.db.read(lambda conn: assistants_repo.get_doc(conn, project, prompt))
        if found is None:
            raise NotFound.object("assistant", prompt)
        return with_assistant(req, orjson.loads(found))

    def _check_previous(self, conn: Conn, project: str, previous: str) -> None:
        earlier = self.repo.get(conn, project, previous)
        if earlier is None:
            raise InvalidRequest(
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        if runs_repo.status(conn, earlier.run_id) in ("queued", "in_progress"):
            raise InvalidRequest(
                f"Previous response with id '{previous}' is still in progress.",
                param="previous_response_id",
                code="previous_response_in_progress",
            )

    async def record(self, project: str, response_id: str) -> ResponseRecord:
        record = await self.db.read(lambda conn: self.repo.get(conn, project, response_id))
        if record is None:
            raise NotFound.object("response", response_id)
        return record

    async def document(self, project: str, response_id: str, include: Sequence[str] = ()) -> JSON:
        def unit(conn: Conn) -> JSON:
            record = self.repo.get(conn, project, response_id)
            output = self.repo.output(conn, record) if record is not None else None
            if record is None or output is None:
                raise NotFound.object("response", response_id)
            return response_doc(record, output, include)

        return await self.db.read(unit)

    def opening(self, record: ResponseRecord, run: Mapping[str, Any]) -> JSON:
        """The response as a lifecycle event shows it before any output: built from the
        event's own Run, so a replay of the stream shows exactly what the first did."""
        output = RunOutput(orjson.dumps(run).decode(), "{}", [], [])
        return response_doc(record, output, ())

    async def final(
        self, record: ResponseRecord, run: Mapping[str, Any], include: Sequence[str]
    ) -> JSON:
        """The response as stored once its run ended (`run`: the ending event's Run)."""

        def unit(conn: Conn) -> JSON:
            output = self.repo.output(conn, record)
            if output is None:  # deleted meanwhile
                output = RunOutput(orjson.dumps(run).decode(), "{}", [], [])
            return response_doc(record, output, include)

        return await self.db.read(unit)

    def _drop(self, conn: Conn, record: ResponseRecord) -> bool:
        """A response goes with its own thread (its run, steps and messages cascade);
        one on a conversation leaves what it wrote there, which is the conversation's."""
        if orjson.loads(record.doc).get("conversation") is not None:
            return self.repo.delete(conn, record.id)
        return threads_repo.delete(conn, record.project, record.thread_id)

    async def delete(self, project: str, response_id: str) -> bytes:
        def unit(conn: Conn) -> bool:
            record = self.repo.get(conn, project, response_id)
            return record is not None and self._drop(conn, record)

        if not await self.db.write(unit):
            raise NotFound.object("response", response_id)
        return orjson.dumps({"id": response_id, "object": "response", "deleted": True})

    async def forget(self, record: ResponseRecord) -> None:
        """`store: false`: the response is not retrievable once it has been answered (on
        a conversation, its items stay there: the conversation stores them)."""
        await self.db.write(lambda conn: self._drop(conn, record))

    async def cancel(self, project: str, response_id: str) -> JSON:
        record = await self.record(project, response_id)
        echo = orjson.loads(record.doc)
        if not echo["background"]:
            raise InvalidRequest(
                "Only responses created with background=true can be cancelled.",
                code="invalid_request",
            )
        status = await self.db.read(lambda conn: runs_repo.status(conn, record.run_id))
        if status in ("queued", "in_progress", "requires_action"):
            await self.runs.cancel(project, record.thread_id, record.run_id)
        return await self.document(project, response_id)

    async def _read_files(self, project: str, items: list[JSON]) -> None:
        """Each input_file part gets its File's name and text (read before the write: a
        parse takes up to its time limit, and holds no transaction meanwhile)."""
        for part, param in file_parts(items):
            if self.file_text is None:
                raise InvalidRequest(
                    "input_file parts are not supported here.",
                    param=param,
                    code="unsupported_value",
                )
            part["filename"], part["_text"] = await self.file_text(project, part["file_id"], param)

    async def input_tokens(self, project: str, req: InputTokensCreate) -> int:
        """What the model would be prompted with: the instructions, then the input and
        the chain before it (as much of it as the model's window holds)."""
        conversation = conversation_id(req)
        items, _refs, references = input_items(req.input)
        model = model_of(req.model)
        await self._read_files(project, items)
        resolved = await self.db.read(
            lambda conn: resolve_references(conn, project, items, references)
        )
        reader: ChainReader | ConversationReader
        if conversation is not None:
            found = await self.db.read(
                lambda conn: threads_repo.get_doc(conn, project, conversation)
            )
            if found is None:
                raise NotFound.object("conversation", conversation)
            reader = ConversationReader(self.db, project, conversation, start=resolved)
        else:
            reader = ChainReader(self.db, project, None, (resolved, req.previous_response_id))
        if req.previous_response_id is not None:
            await self.record(project, req.previous_response_id)
        provider = self.providers.for_model(model)
        messages: list[JSON] = []
        while len(messages) < _COUNT_MAX_MESSAGES and (groups := await reader.next(100)):
            messages += [m for group in groups for m in group]
        if req.instructions:
            messages.append({"role": "system", "content": req.instructions})
        messages.reverse()
        return await asyncio.to_thread(provider.count_tokens, messages)

    async def input_items(self, project: str, response_id: str, params: ListParams) -> bytes:
        record = await self.record(project, response_id)
        items: list[JSON] = [shown(i) for i in orjson.loads(record.input)]
        if params.order == "desc":
            items = items[::-1]
        ids = [i.get("id") for i in items]
        start = 0
        if params.after is not None and params.after in ids:
            start = ids.index(params.after) + 1
        end = len(items)
        if params.before is not None and params.before in ids:
            end = ids.index(params.before)
        window = items[start:end]
        page = Page([orjson.dumps(i) for i in window[: params.limit]], len(window) > params.limit)
        return render_list(page)


def record_row(record: ResponseRecord) -> JSON:
    return {
        "id": record.id,
        "project": record.project,
        "thread_id": record.thread_id,
        "run_id": record.run_id,
        "previous_response_id": record.previous_response_id,
        "doc": record.doc,
        "input": record.input,
    }
