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

import logging
import time
from typing import Any

import orjson

from assistantd.engine.context import Context, ImageReader, build_context
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

__all__ = ["RunExecutor"]

log = logging.getLogger(__name__)
_CANCEL_CHECK_S = 0.2


def _tools(run: RunDoc) -> list[dict[str, Any]]:
    # Only function tools reach the model for now; code_interpreter and file_search
    # are stored on runs but not executed by this server yet.
    return [
        {"type": "function", "function": t["function"]}
        for t in run["tools"]
        if t["type"] == "function"
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
    ) -> None:
        self.db = db
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
            await self._generate(turn, provider)
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

    def _request(self, turn: Turn, context: Context, max_tokens: int | None) -> ChatRequest:
        run = turn.run
        tools = _tools(run)
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

    async def _generate(self, turn: Turn, provider: Provider) -> None:
        run = turn.run
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
            return
        used = run["usage"]["completion_tokens"] if run["usage"] else 0
        max_tokens = run["max_completion_tokens"] - used if run["max_completion_tokens"] else None
        if max_tokens is not None and max_tokens <= 0:
            await self.turns.end(turn, "incomplete", incomplete={"reason": "max_completion_tokens"})
            return
        turn.prompt_tokens = context.prompt_tokens
        checked = time.monotonic()
        async for event in provider.stream(self._request(turn, context, max_tokens)):
            if isinstance(event, TextDelta):
                await self._on_text(turn, event.text)
            elif isinstance(event, ToolCallDelta):
                await self._on_tool_call(turn, event)
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
                    return
        if not turn.completion_tokens:
            # An upstream that reports no usage: estimate, as for prompts.
            pieces = [turn.text, *(c.arguments for c in turn.calls.values())]
            turn.completion_tokens = sum(len(p) for p in pieces) // 4
        await self.turns.finish(turn)

    async def _on_text(self, turn: Turn, text: str) -> None:
        if turn.message is None:
            await self.turns.open_message(turn)
        assert turn.message is not None
        turn.text += text
        delta = {
            "id": turn.message["id"],
            "object": "thread.message.delta",
            "delta": {
                "content": [
                    {"index": 0, "type": "text", "text": {"value": text, "annotations": []}}
                ]
            },
        }
        self.bus.publish(turn.run["id"], "thread.message.delta", orjson.dumps(delta))

    async def _on_tool_call(self, turn: Turn, event: ToolCallDelta) -> None:
        if event.index > 0 and not turn.run["parallel_tool_calls"]:
            return  # only the first call is kept; do not stream the others
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
