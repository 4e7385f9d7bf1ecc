"""RunExecutor: one turn of a run, from its context to its next status (writes: engine/turn.py).

    queued ─(claimed)→ in_progress ─→ completed | incomplete | failed | requires_action
                                 └─(cancel)→ cancelling → cancelled

The model's answer streams in. A message (or a tool_calls step) is created at the
first token and written whole when the turn ends, in the same transaction as the run's
new status, so a reader never sees a finished run with an unfinished message. Every
change is published on the event bus after it commits, and every token as it comes, in
the order CONTRACT.md section 7 gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson

from assistantd.engine.context import Context, ImageReader, build_context
from assistantd.engine.server_tools import server_tools_for
from assistantd.engine.turn import Call, Turn, TurnWriter
from assistantd.events.bus import EventBus
from assistantd.ids import IdKind, new_id
from assistantd.protocol.objects import RunDoc
from assistantd.providers.base import (
    ChatRequest,
    Finish,
    Provider,
    ProviderError,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from assistantd.providers.registry import ProviderRegistry
from assistantd.store.db import Database
from assistantd.store.repos.runs import RunRepository
from assistantd.tools.base import ServerTool, ToolOutcome, ToolRequest
from assistantd.tools.file_search.citations import CitationStream, Source
from assistantd.tools.file_search.tool import ToolFailed

__all__ = ["RunExecutor"]

log = logging.getLogger(__name__)
_CANCEL_CHECK_S = 0.2


# Model turns with server tools offered before the model must answer without them:
# enough for a model to fix its own code a few times, bounded so a run always ends.
MAX_SERVER_ROUNDS = 6


def _tools(
    run: RunDoc, server: dict[str, ServerTool], private: dict[str, Any]
) -> list[dict[str, Any]]:
    """Function tools as the client defined them, then the server tools as functions."""
    functions = [
        {"type": "function", "function": t["function"]}
        for t in run["tools"]
        if t["type"] == "function"
    ]
    return functions + [tool.definition(dict(run), private) for tool in server.values()]


def _tool_choice(run: RunDoc, answered_tools: bool) -> str | dict[str, Any] | None:
    """The run's tool_choice for this turn.

    A forced choice (`required`, or a named function) applies to the turn that starts
    the run: once the model has called tools and their outputs are back, the run goes
    on with `auto`, as the OpenAI Agents SDK does, or it would ask for the same call
    after every submit_tool_outputs, forever. Built-in tools cannot be forced here:
    RunService refuses that at create time.
    """
    choice = run["tool_choice"]
    if answered_tools and choice != "none":
        return "auto"
    if isinstance(choice, dict) and choice["type"] != "function":
        return {"type": "function", "function": {"name": choice["type"]}}
    if isinstance(choice, dict):
        return {"type": "function", "function": {"name": choice["function"]["name"]}}
    return str(choice) if choice else None


def _response_format(run: RunDoc) -> dict[str, Any] | None:
    value = run["response_format"]
    if isinstance(value, dict) and value.get("type") in ("json_object", "json_schema"):
        return value
    return None


class RunExecutor:
    def __init__(
        self,
        db: Database,
        providers: ProviderRegistry,
        bus: EventBus,
        *,
        read_image: ImageReader | None = None,
        requires_action_ttl_s: int = 600,
        server_tools: dict[str, ServerTool] | None = None,
    ) -> None:
        self.db = db
        self.server_tools = server_tools or {}
        self.providers = providers
        self.bus = bus
        self.read_image = read_image
        self.runs = RunRepository()
        self.turns = TurnWriter(db, bus, requires_action_ttl_s=requires_action_ttl_s)

    async def execute(self, run_id: str) -> None:
        loaded = await self.db.read(lambda conn: self.runs.load(conn, run_id))
        if loaded is None:
            return
        turn = Turn(orjson.loads(loaded.doc), orjson.loads(loaded.private), loaded.project)
        if turn.run["status"] != "in_progress":
            return
        try:
            provider = self.providers.for_model(turn.run["model"])
            server = server_tools_for(dict(turn.run), self.server_tools)
            for rounds in range(MAX_SERVER_ROUNDS + 1):
                offered = server if rounds < MAX_SERVER_ROUNDS else {}
                if not await self._generate(turn, provider, offered):
                    break
                turn = turn.next()
        except ToolFailed as error:
            await self.turns.end(
                turn, "failed", last_error={"code": error.code, "message": error.message}
            )
        except ProviderError as error:
            await self.turns.end(
                turn, "failed", last_error={"code": error.code, "message": error.message}
            )
        except Exception:
            log.exception("run %s failed", run_id)
            await self.turns.end(
                turn,
                "failed",
                last_error={
                    "code": "server_error",
                    "message": "The server had an error while running this run.",
                },
            )

    def _request(
        self,
        turn: Turn,
        context: Context,
        max_tokens: int | None,
        server: dict[str, ServerTool],
    ) -> ChatRequest:
        run = turn.run
        tools = _tools(run, server, turn.private)
        return ChatRequest(
            model=run["model"],
            messages=context.messages,
            tools=tools,
            tool_choice=_tool_choice(run, context.answered_tools) if tools else None,
            parallel_tool_calls=run["parallel_tool_calls"],
            response_format=_response_format(run),
            temperature=run["temperature"],
            top_p=run["top_p"],
            max_tokens=max_tokens,
            reasoning_effort=turn.private.get("reasoning_effort"),
        )

    async def _generate(
        self, turn: Turn, provider: Provider, server: dict[str, ServerTool]
    ) -> bool:
        """One model turn; True when it called server tools and the run goes on."""
        run = turn.run
        await self._prepare(turn, server)
        context = await build_context(
            self.db,
            run=run,
            private=turn.private,
            project=turn.project,
            context_window=provider.context_window,
            count_tokens=provider.count_tokens,
            read_image=self.read_image if provider.accepts_images else None,
        )
        if context.over_budget:
            await self.turns.end(turn, "incomplete", incomplete={"reason": "max_prompt_tokens"})
            return False
        used = run["usage"]["completion_tokens"] if run["usage"] else 0
        max_tokens = run["max_completion_tokens"] - used if run["max_completion_tokens"] else None
        if max_tokens is not None and max_tokens <= 0:
            await self.turns.end(turn, "incomplete", incomplete={"reason": "max_completion_tokens"})
            return False
        turn.prompt_tokens = context.prompt_tokens
        checked = time.monotonic()
        request = self._request(turn, context, max_tokens, server)
        async for event in provider.stream(request):
            if isinstance(event, TextDelta):
                await self._on_text(turn, event.text)
            elif isinstance(event, ToolCallDelta):
                await self._on_tool_call(turn, event, server)
            elif isinstance(event, Usage):
                turn.prompt_tokens = event.prompt_tokens
                turn.completion_tokens = event.completion_tokens
            elif isinstance(event, Finish):
                turn.finish = event.reason
            if time.monotonic() - checked > _CANCEL_CHECK_S:
                checked = time.monotonic()
                status = await self.db.read(lambda conn: self.runs.status(conn, run["id"]))
                if status == "cancelling":
                    await self.turns.end(turn, "cancelled")
                    return False
        return await self._after_stream(turn, provider, server)

    async def _after_stream(
        self, turn: Turn, provider: Provider, server: dict[str, ServerTool]
    ) -> bool:
        if not turn.completion_tokens:
            # An upstream that reports no usage: estimate, as for prompts.
            pieces = [turn.text, *(c.arguments for c in turn.calls.values())]
            turn.completion_tokens = sum(len(p) for p in pieces) // 4
        server_calls = [turn.calls[i] for i in sorted(turn.calls) if turn.calls[i].server]
        if server_calls:
            return await self._run_server_tools(turn, server_calls, server)
        if turn.citer is not None and turn.message is not None:
            self._publish_pieces(turn, turn.citer.flush())
            if not provider.cites_sources:
                self._publish_pieces(turn, turn.citer.cite_top())
        if turn.message is not None:
            await self._annotate(turn)
        await self.turns.finish(turn)
        return False

    async def _annotate(self, turn: Turn) -> None:
        """Annotations server tools add to the finished answer (code_interpreter's
        `file_path` links), announced in one last message delta."""
        assert turn.message is not None
        added: list[dict[str, Any]] = []
        for tool in server_tools_for(dict(turn.run), self.server_tools).values():
            for annotation in await tool.annotate(turn.project, dict(turn.run), turn.text):
                added.append({**annotation, "index": len(turn.annotations) + len(added)})
        if not added:
            return
        turn.annotations = [*turn.annotations, *added]
        text = {"value": "", "annotations": added}
        delta = {
            "id": turn.message["id"],
            "object": "thread.message.delta",
            "delta": {"content": [{"index": turn.text_index, "type": "text", "text": text}]},
        }
        self.bus.publish(turn.run["id"], "thread.message.delta", orjson.dumps(delta))

    async def _prepare(self, turn: Turn, server: dict[str, ServerTool]) -> None:
        """Before the model's first turn, each server tool checks the run (an expired
        store fails it); earlier search results can be cited."""
        if server and not turn.private.get("tools_checked"):
            for tool in server.values():
                turn.private.update(await tool.check(turn.project, dict(turn.run)) or {})
            turn.private["tools_checked"] = True
        if turn.private.get("sources"):
            sources = {
                key: Source(key, s["file_id"], s["filename"])
                for key, s in turn.private["sources"].items()
            }
            turn.citer = CitationStream(sources, latest=int(turn.private.get("latest", 0)))

    async def _run_server_tools(
        self, turn: Turn, calls: list[Call], server: dict[str, ServerTool]
    ) -> bool:
        """Run the turn's server tool calls (function calls beside them are dropped: the
        model asks again once it has the results) in one tool_calls step."""
        if turn.citer is not None and turn.message is not None:
            self._publish_pieces(turn, turn.citer.flush())
        for call in turn.calls.values():
            call.server = True  # nothing of this turn goes to the client as a function call
        # Calls announced while streamed keep their index; the others follow.
        calls = sorted(calls, key=lambda c: c.position if c.position >= 0 else len(calls))
        turn.calls = {i: c for i, c in enumerate(calls)}
        if turn.tool_step is None:
            await self.turns.open_tool_step(turn)
        assert turn.tool_step is not None
        rounds = int(turn.private.get("server_rounds", 0))
        entries, private = [], dict(turn.private)
        exchanges = dict(private.get("exchanges") or {})
        for index, call in enumerate(calls):
            tool = server[call.name]
            if call.position < 0:
                first = {"index": index, **tool.first_entry(dict(turn.run), call.id)}
                self._step_delta(turn, first)
            request = ToolRequest(
                project=turn.project,
                run=dict(turn.run),
                private=private,
                call_id=call.id,
                arguments=call.arguments,
                round=rounds,
            )
            outcome = await self._run_cancellable(turn, tool, request)
            if outcome is None:  # cancelled while it ran: the step ends with the run
                entry = tool.first_entry(dict(turn.run), call.id)
                if call.shown and "input" in entry.get(tool.type, {}):
                    entry[tool.type]["input"] = call.shown
                entries.append(entry)
                break
            if call.position >= 0:  # what the streamed input still lacks (raw code)
                final = (outcome.entry.get(tool.type) or {}).get("input")
                self._stream_input(turn, call, tool, final if isinstance(final, str) else None)
            result = tool.result_delta(outcome.entry)
            if result is not None:
                self._step_delta(turn, {"index": index, **result})
            entries.append(outcome.entry)
            private.update(outcome.private)
            exchanges[call.id] = {
                "name": call.name,
                "arguments": call.arguments,
                "output": outcome.output,
            }
            rounds += 1
        private["exchanges"] = exchanges
        private["server_rounds"] = rounds
        include = bool(private.get("include_search_content"))
        return await self.turns.complete_server_step(turn, entries, private, include)

    async def _run_cancellable(
        self, turn: Turn, tool: ServerTool, request: ToolRequest
    ) -> ToolOutcome | None:
        """The tool's outcome, or None if the run was cancelled meanwhile: then the tool
        is cancelled too (code_interpreter kills the code it is running)."""
        task = asyncio.create_task(tool.run(request))
        while True:
            done, _ = await asyncio.wait({task}, timeout=_CANCEL_CHECK_S)
            if done:
                return task.result()
            status = await self.db.read(lambda conn: self.runs.status(conn, turn.run["id"]))
            if status == "cancelling":
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                return None

    def _step_delta(self, turn: Turn, entry: dict[str, Any]) -> None:
        assert turn.tool_step is not None
        delta = {
            "id": turn.tool_step["id"],
            "object": "thread.run.step.delta",
            "delta": {"step_details": {"type": "tool_calls", "tool_calls": [entry]}},
        }
        self.bus.publish(turn.run["id"], "thread.run.step.delta", orjson.dumps(delta))

    async def _announce(self, turn: Turn, call: Call, tool: ServerTool) -> None:
        """A server call whose input streams (code_interpreter's code): its step opens
        at its first token, as OpenAI's did, and the input follows as it is written."""
        if turn.citer is not None and turn.message is not None:
            self._publish_pieces(turn, turn.citer.flush())
        if turn.tool_step is None:
            await self.turns.open_tool_step(turn)
        call.position = sum(1 for c in turn.calls.values() if c.position >= 0)
        self._step_delta(
            turn, {"index": call.position, **tool.first_entry(dict(turn.run), call.id)}
        )
        self._stream_input(turn, call, tool)

    def _stream_input(
        self, turn: Turn, call: Call, tool: ServerTool, final: str | None = None
    ) -> None:
        so_far = final if final is not None else tool.input_so_far(call.arguments) or ""
        if len(so_far) > len(call.shown) and so_far.startswith(call.shown):
            piece = so_far[len(call.shown) :]
            call.shown = so_far
            self._step_delta(
                turn, {"index": call.position, "type": tool.type, tool.type: {"input": piece}}
            )

    def _publish_pieces(self, turn: Turn, pieces: list[tuple[str, dict[str, Any] | None]]) -> None:
        assert turn.message is not None
        assert turn.citer is not None
        for text, annotation in pieces:
            delta = {
                "id": turn.message["id"],
                "object": "thread.message.delta",
                "delta": {
                    "content": [
                        {
                            "index": turn.text_index,
                            "type": "text",
                            "text": {
                                "value": text,
                                "annotations": [annotation] if annotation else [],
                            },
                        }
                    ]
                },
            }
            self.bus.publish(turn.run["id"], "thread.message.delta", orjson.dumps(delta))
        turn.text = turn.citer.text
        turn.annotations = turn.citer.annotations

    async def _on_text(self, turn: Turn, text: str) -> None:
        if turn.message is None:
            await self.turns.open_message(turn)
        assert turn.message is not None
        if turn.citer is not None:
            self._publish_pieces(turn, turn.citer.feed(text))
            return
        turn.text += text
        delta = {
            "id": turn.message["id"],
            "object": "thread.message.delta",
            "delta": {
                "content": [
                    {
                        "index": turn.text_index,
                        "type": "text",
                        "text": {"value": text, "annotations": []},
                    }
                ]
            },
        }
        self.bus.publish(turn.run["id"], "thread.message.delta", orjson.dumps(delta))

    async def _on_tool_call(
        self, turn: Turn, event: ToolCallDelta, server: dict[str, ServerTool]
    ) -> None:
        if event.index > 0 and not turn.run["parallel_tool_calls"]:
            return  # only the first call is kept; do not stream the others
        known = turn.calls.get(event.index)
        if known is None and (event.name or "") in server:
            opened = turn.calls[event.index] = Call(
                id=new_id(IdKind.tool_call),
                name=event.name or "",
                arguments=event.arguments,
                server=True,
            )
            tool = server[opened.name]
            if tool.input_so_far(opened.arguments) is not None:
                await self._announce(turn, opened, tool)
            return
        if known is not None and known.server:
            known.arguments += event.arguments
            if known.position >= 0:
                self._stream_input(turn, known, server[known.name])
            return
        if turn.tool_step is None:
            await self.turns.open_tool_step(turn)
        assert turn.tool_step is not None
        call = turn.calls.get(event.index)
        if call is None:
            call = turn.calls[event.index] = Call(
                id=new_id(IdKind.tool_call), name=event.name or ""
            )
            # The first delta of a call carries its id and name; later ones only add
            # arguments (the SDK concatenates strings it sees twice).
            entry = {
                "index": event.index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": event.arguments, "output": None},
            }
        else:
            call.name += event.name or ""
            entry = {
                "index": event.index,
                "type": "function",
                "function": {"arguments": event.arguments},
            }
        call.arguments += event.arguments
        delta = {
            "id": turn.tool_step["id"],
            "object": "thread.run.step.delta",
            "delta": {"step_details": {"type": "tool_calls", "tool_calls": [entry]}},
        }
        self.bus.publish(turn.run["id"], "thread.run.step.delta", orjson.dumps(delta))
