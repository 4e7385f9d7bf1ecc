"""The seam for tools that run inside the engine (server-side tools).

A function tool stops the run at `requires_action`; a server tool does not: the model
calls it like a function, the engine runs it, records a `tool_calls` step of the tool's
own type, hands the output back to the model and lets it go on in the same run.

A tool owns everything about itself (docs/tools.md): the function the model is offered,
how a call runs and how its step entry streams, how it changes the answer (an
`AnswerEditor` rewrites the text as it streams, `lead_parts` put content before it,
`annotate` marks the finished text), and its own state, a JSON sub-document of the
run's private state under `tools[<type>]`. The engine calls these hooks and names no
tool. `BaseServerTool` gives every optional hook its "does nothing" answer, so a tool
writes only what it uses; tests/tools/test_tool_contract.py runs every tool through the
same conformance checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from assistantd.protocol.objects import RunDoc

__all__ = [
    "AnswerEditor",
    "BaseServerTool",
    "JSON",
    "Piece",
    "ServerTool",
    "ToolFailed",
    "ToolOutcome",
    "ToolRequest",
]

JSON = dict[str, Any]


class ToolFailed(Exception):
    """The run cannot go on (an expired store, no sandbox): it fails with this
    `last_error`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ToolRequest:
    """What a server tool knows about the call: whose run, its state, what the model asked."""

    project: str
    run: RunDoc
    state: JSON  # the tool's own state in the run (read-only: return a new one)
    call_id: str
    arguments: str
    round: int  # how many server tool calls this run made before this one


@dataclass(frozen=True)
class ToolOutcome:
    """The step entry clients see, the text the model reads, and the tool's new state."""

    entry: JSON
    output: str
    state: JSON


@dataclass(frozen=True)
class Piece:
    """A piece of the answer's text as an editor lets it out. The engine places it:
    it sets the annotation's `start_index`/`end_index` (the piece's span in the text)
    and its `index` in the message's annotations."""

    text: str
    annotation: JSON | None = None  # as stored in the message
    shown: JSON | None = None  # as the delta shows it, when that differs


class AnswerEditor(Protocol):
    """Rewrites the answer as it streams (file_search turns markers into citations).
    Text it holds back comes out of a later `feed`, `flush` or `finish`."""

    def feed(self, text: str) -> list[Piece]: ...

    def flush(self) -> list[Piece]:
        """Everything held back: the text is about to stop (tool calls, the end)."""
        ...

    def finish(self, cites_sources: bool) -> list[Piece]:
        """The answer is complete; `cites_sources` is False for a model too small to
        write citations itself."""
        ...


class ServerTool(Protocol):
    type: str  # the tool type in `tools` and in step details, e.g. "file_search"

    # What the model is offered.
    def definition(self, run: RunDoc, state: JSON) -> JSON:
        """The function the model is shown (OpenAI's `{"type":"function",...}` shape);
        its name is the tool's type."""
        ...

    async def prepare(self, project: str, run: RunDoc, state: JSON) -> JSON:
        """Before the run's first model turn: raise ToolFailed if the run cannot use the
        tool; returns the tool's state."""
        ...

    # How a call runs and shows in its step.
    def first_entry(self, run: RunDoc, call_id: str) -> JSON:
        """The step entry streamed when the call starts (before its results)."""
        ...

    def input_so_far(self, arguments: str) -> str | None:
        """What the step shows as the call's `input` while the model is still writing
        `arguments`; None for a tool that shows no input while it streams."""
        ...

    async def call(self, request: ToolRequest) -> ToolOutcome: ...

    def result_delta(self, entry: JSON) -> JSON | None:
        """The step delta that shows the call's results once it ran, or None when only
        the completed step carries them."""
        ...

    def shown(self, entry: JSON, include: Sequence[str]) -> JSON:
        """The completed entry as streamed to a client that asked for `include`."""
        ...

    # How it changes the answer.
    def lead_parts(self, state: JSON) -> tuple[list[JSON], JSON]:
        """Content parts the run's next message opens with, and the state after."""
        ...

    def editor(self, state: JSON) -> AnswerEditor | None: ...

    async def annotate(self, project: str, run: RunDoc, state: JSON, text: str) -> list[JSON]:
        """Annotations for the finished answer (with their spans; the engine numbers them)."""
        ...

    # Its state in rows written before run state was typed.
    def restore(self, flat: Mapping[str, Any]) -> JSON:
        """The tool's state from a run's old flat private document (its own keys there)."""
        ...


class BaseServerTool:
    """The optional hooks, each doing nothing: subclass and write what the tool uses."""

    type: str

    async def prepare(self, project: str, run: RunDoc, state: JSON) -> JSON:
        return state

    def input_so_far(self, arguments: str) -> str | None:
        return None

    def result_delta(self, entry: JSON) -> JSON | None:
        return None

    def shown(self, entry: JSON, include: Sequence[str]) -> JSON:
        return entry

    def lead_parts(self, state: JSON) -> tuple[list[JSON], JSON]:
        return [], state

    def editor(self, state: JSON) -> AnswerEditor | None:
        return None

    async def annotate(self, project: str, run: RunDoc, state: JSON, text: str) -> list[JSON]:
        return []

    def restore(self, flat: Mapping[str, Any]) -> JSON:
        return {}

    def options(self, run: RunDoc) -> JSON:
        """The tool's entry in the run's `tools` (its options), or {}."""
        for tool in run["tools"]:
            if tool["type"] == self.type:
                found: JSON = tool.get(self.type) or {}
                return found
        return {}
