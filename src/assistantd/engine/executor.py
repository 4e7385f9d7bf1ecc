"""RunExecutor: one turn of a run, from its context to its next status (writes: engine/turn.py).

    queued ─(claimed)→ in_progress ─→ completed | incomplete | failed | requires_action
                                 └─(cancel)→ cancelling → cancelled

The model's answer streams in. A message (or a tool_calls step) is created at the
first token and written whole when the turn ends, in the same transaction as the run's
new status, so a reader never sees a finished run with an unfinished message. Every
change is published on the event bus after it commits, and every token as it comes, in
the order docs/contract.md gives ("Streaming").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson

from assistantd.engine import answer
from assistantd.engine.context import (
    THREAD_HISTORY,
    Context,
    History,
    ImageReader,
    build_context,
)
from assistantd.engine.deltas import step_delta
from assistantd.engine.run_state import load_private, tool_state, with_tool_state
from assistantd.engine.server_steps import CANCEL_CHECK_S, ServerSteps
from assistantd.engine.turn import Call, Turn, TurnWriter
from assistantd.events.bus import EventBus
from assistantd.ids import IdKind, new_id
from assistantd.observability.logs import PROJECT
from assistantd.protocol.objects import RunDoc
from assistantd.providers.base import (
    ChatRequest,
    Finish,
    Provider,
    ProviderError,
    Providers,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from assistantd.store.db import Database
from assistantd.store.repos.runs import runs_repo
from assistantd.tools.base import JSON, ServerTool, ToolFailed

__all__ = ["RunExecutor"]

log = logging.getLogger(__name__)


# Model turns with server tools offered before the model must answer without them:
# enough for a model to fix its own code a few times, bounded so a run always ends.
MAX_SERVER_ROUNDS = 6


def _tools(turn: Turn, server: dict[str, ServerTool]) -> list[JSON]:
    """Function tools as the client defined them, then the server tools as functions."""
    functions: list[JSON] = [
        {"type": "function", "function": t["function"]}
        for t in turn.run["tools"]
        if t["type"] == "function"
    ]
    return functions + [
        tool.definition(turn.run, tool_state(turn.private, tool)) for tool in server.values()
    ]


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


# (project, model, prompt tokens, completion tokens) of each model turn, as it ends:
# rate limits count them against the project, metrics by model.
UsageHook = Callable[[str, str, int, int], Awaitable[None]]


class RunExecutor:
    def __init__(
        self,
        db: Database,
        providers: Providers,
        bus: EventBus,
        *,
        read_image: ImageReader | None = None,
        requires_action_ttl_s: int = 600,
        server_tools: Sequence[ServerTool] = (),
        on_usage: UsageHook | None = None,
        histories: Mapping[str, History] | None = None,
    ) -> None:
        self.db = db
        # A run reads the history its private state names (RunPrivate["history"]).
        self.histories: dict[str, History] = {"thread": THREAD_HISTORY, **(histories or {})}
        self.on_usage = on_usage
        # By type, which is also the function name the model calls.
        self.server_tools = {tool.type: tool for tool in server_tools}
        self.providers = providers
        self.bus = bus
        self.read_image = read_image
        self.runs = runs_repo
        self.turns = TurnWriter(db, bus, requires_action_ttl_s=requires_action_ttl_s)
        self.steps = ServerSteps(db, bus, self.turns)

    async def execute(self, run_id: str) -> None:
        loaded = await self.db.read(lambda conn: self.runs.load(conn, run_id))
        if loaded is None:
            return
        run: RunDoc = orjson.loads(loaded.doc)
        enabled = {t["type"] for t in run["tools"]}
        tools = {name: t for name, t in self.server_tools.items() if name in enabled}
        private = load_private(loaded.private, self.server_tools.values())
        turn = Turn(run, private, loaded.project, tools)
        PROJECT.set(loaded.project)
        if turn.run["status"] == "cancelling":
            # Cancelled between its claim and now: nobody else will end it.
            await self.turns.end(turn, "cancelled")
            return
        if turn.run["status"] != "in_progress":
            return
        try:
            provider = self.providers.for_model(turn.run["model"])
            for rounds in range(MAX_SERVER_ROUNDS + 1):
                offered = turn.tools if rounds < MAX_SERVER_ROUNDS else {}
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
        tools = _tools(turn, server)
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
            reasoning_effort=turn.private["reasoning_effort"],
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
            counts_cheaply=provider.counts_cheaply,
            read_image=self.read_image if provider.accepts_images else None,
            history=self.histories[turn.private["history"]],
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
        turn.max_tokens = max_tokens
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
            if time.monotonic() - checked > CANCEL_CHECK_S:
                checked = time.monotonic()
                status = await self.db.read(lambda conn: self.runs.status(conn, run["id"]))
                if status == "cancelling":
                    # What streamed before the cancel was generated (and is shown): it
                    # counts, though the upstream's usage report never came.
                    await self._count_usage(turn)
                    await self.turns.end(turn, "cancelled")
                    return False
        return await self._after_stream(turn, provider, server)

    async def _count_usage(self, turn: Turn) -> None:
        if not turn.completion_tokens:
            # An upstream that reports no usage (or not yet): estimate, as for prompts.
            pieces = [turn.text, *(c.arguments for c in turn.calls.values())]
            turn.completion_tokens = sum(len(p) for p in pieces) // 4
        if self.on_usage is not None:
            run = turn.run
            await self.on_usage(
                turn.project, run["model"], turn.prompt_tokens, turn.completion_tokens
            )

    async def _after_stream(
        self, turn: Turn, provider: Provider, server: dict[str, ServerTool]
    ) -> bool:
        await self._count_usage(turn)
        server_calls = [turn.calls[i] for i in sorted(turn.calls) if turn.calls[i].server]
        if server_calls:
            return await self.steps.run(turn, server_calls, server)
        await answer.finish(self.bus, turn, provider.cites_sources)
        if turn.message is not None:
            await self.steps.annotate(turn, turn.tools)
        await self.turns.finish(turn)
        return False

    async def _prepare(self, turn: Turn, server: dict[str, ServerTool]) -> None:
        """Before the model's first turn, each server tool prepares the run (an expired
        store fails it); each turn, the tools' editors take the answer's text."""
        if server and not turn.private["tools_checked"]:
            private = turn.private
            for tool in server.values():
                state = await tool.prepare(turn.project, turn.run, tool_state(private, tool))
                private = with_tool_state(private, tool, state)
            turn.private = {**private, "tools_checked": True}
        turn.editors = [
            editor
            for tool in turn.tools.values()
            if (editor := tool.editor(tool_state(turn.private, tool))) is not None
        ]

    async def _on_text(self, turn: Turn, text: str) -> None:
        if turn.message is None:
            lead: list[JSON] = []
            private = turn.private
            for tool in turn.tools.values():
                parts, state = tool.lead_parts(tool_state(private, tool))
                if parts:
                    lead += parts
                    private = with_tool_state(private, tool, state)
            await self.turns.open_message(turn, lead, private)
        await answer.feed(self.bus, turn, text)

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
                await self.steps.announce(turn, opened, tool)
            return
        if known is not None and known.server:
            known.arguments += event.arguments
            if known.position >= 0:
                await self.steps.stream_input(turn, known, server[known.name])
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
        await step_delta(self.bus, turn, entry)
