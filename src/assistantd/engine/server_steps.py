"""Server tool calls inside a turn: their tool_calls step, streamed as OpenAI's was.

A call whose input streams (code_interpreter's code) opens its step at its first
token and shows the input as the model writes it; a call that shows no input
(file_search) appears when the model has finished. Each call then runs, watched for a
cancel (which cancels the tool: code_interpreter kills the code it is running); its
results are one more step delta, and the step completes with the turn. Once the answer
is written, the tools may annotate it (code_interpreter's `file_path` links).
"""

from __future__ import annotations

import asyncio
import contextlib

from assistantd.engine import answer
from assistantd.engine.deltas import step_delta
from assistantd.engine.run_state import tool_state, with_tool_state
from assistantd.engine.turn import Call, Turn, TurnWriter
from assistantd.events.bus import EventBus
from assistantd.protocol.objects import Exchange
from assistantd.store.db import Database
from assistantd.store.repos.runs import runs_repo
from assistantd.tools.base import JSON, ServerTool, ToolOutcome, ToolRequest

__all__ = ["ServerSteps"]

CANCEL_CHECK_S = 0.2


class ServerSteps:
    def __init__(self, db: Database, bus: EventBus, turns: TurnWriter) -> None:
        self.db = db
        self.bus = bus
        self.turns = turns
        self.runs = runs_repo

    async def announce(self, turn: Turn, call: Call, tool: ServerTool) -> None:
        """A call whose input streams: its step opens now, its input follows."""
        await answer.flush(self.bus, turn)
        if turn.tool_step is None:
            await self.turns.open_tool_step(turn)
        call.position = sum(1 for c in turn.calls.values() if c.position >= 0)
        first = tool.first_entry(turn.run, call.id)
        await step_delta(self.bus, turn, {"index": call.position, **first})
        await self.stream_input(turn, call, tool)

    async def stream_input(
        self, turn: Turn, call: Call, tool: ServerTool, final: str | None = None
    ) -> None:
        """The part of the call's input not shown yet (`final`: the input it ran)."""
        so_far = final if final is not None else tool.input_so_far(call.arguments) or ""
        if len(so_far) > len(call.shown) and so_far.startswith(call.shown):
            piece = so_far[len(call.shown) :]
            call.shown = so_far
            entry = {"index": call.position, "type": tool.type, tool.type: {"input": piece}}
            await step_delta(self.bus, turn, entry)

    async def run(self, turn: Turn, calls: list[Call], server: dict[str, ServerTool]) -> bool:
        """Run the turn's server tool calls (function calls beside them are dropped: the
        model asks again once it has the results) in one tool_calls step; True if the
        run goes on to the model's next turn."""
        await answer.flush(self.bus, turn)
        for call in turn.calls.values():
            call.server = True  # nothing of this turn goes to the client as a function call
        # Calls announced while streamed keep their index; the others follow.
        calls = sorted(calls, key=lambda c: c.position if c.position >= 0 else len(calls))
        turn.calls = {i: c for i, c in enumerate(calls)}
        if turn.tool_step is None:
            await self.turns.open_tool_step(turn)
        private = turn.private
        rounds = private["server_rounds"]
        entries: list[JSON] = []
        shown: list[JSON] = []
        exchanges: dict[str, Exchange] = dict(private["exchanges"])
        for index, call in enumerate(calls):
            tool = server[call.name]
            if call.position < 0:
                first = {"index": index, **tool.first_entry(turn.run, call.id)}
                await step_delta(self.bus, turn, first)
            request = ToolRequest(
                project=turn.project,
                run=turn.run,
                state=tool_state(private, tool),
                call_id=call.id,
                arguments=call.arguments,
                round=rounds,
            )
            outcome = await self._run_cancellable(turn, tool, request)
            if outcome is None:  # cancelled while it ran: the step ends with the run
                entry = tool.first_entry(turn.run, call.id)
                if call.shown and "input" in entry.get(tool.type, {}):
                    entry[tool.type]["input"] = call.shown
                entries.append(entry)
                break
            if call.position >= 0:  # what the streamed input still lacks (raw code)
                final = (outcome.entry.get(tool.type) or {}).get("input")
                await self.stream_input(turn, call, tool, final if isinstance(final, str) else None)
            result = tool.result_delta(outcome.entry)
            if result is not None:
                await step_delta(self.bus, turn, {"index": index, **result})
            entries.append(outcome.entry)
            shown.append(tool.shown(outcome.entry, private["include"]))
            private = with_tool_state(private, tool, outcome.state)
            exchanges[call.id] = {
                "name": call.name,
                "arguments": call.arguments,
                "output": outcome.output,
            }
            rounds += 1
        private = {**private, "exchanges": exchanges, "server_rounds": rounds}
        return await self.turns.complete_server_step(turn, entries, shown, private)

    async def _run_cancellable(
        self, turn: Turn, tool: ServerTool, request: ToolRequest
    ) -> ToolOutcome | None:
        """The tool's outcome, or None if the run was cancelled meanwhile: then the tool
        is cancelled too."""
        task = asyncio.create_task(tool.call(request))
        while True:
            done, _ = await asyncio.wait({task}, timeout=CANCEL_CHECK_S)
            if done:
                return task.result()
            status = await self.db.read(lambda conn: self.runs.status(conn, turn.run["id"]))
            if status == "cancelling":
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                return None

    async def annotate(self, turn: Turn, tools: dict[str, ServerTool]) -> None:
        """Annotations the run's server tools add to its finished answer, announced in
        one last message delta."""
        added: list[JSON] = []
        for tool in tools.values():
            state = tool_state(turn.private, tool)
            added += await tool.annotate(turn.project, turn.run, state, turn.text)
        await answer.annotate(self.bus, turn, added)
