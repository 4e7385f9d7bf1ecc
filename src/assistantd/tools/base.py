"""The seam for tools that run inside the engine (server-side tools).

A function tool stops the run at `requires_action`; a server tool does not: the model
calls it like a function, the engine runs it, records a `tool_calls` step of the tool's
own type, hands the output back to the model and lets it go on in the same run.
`file_search` is the first; `code_interpreter` plugs in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ServerTool", "ToolFailed", "ToolOutcome", "ToolRequest"]


class ToolFailed(Exception):
    """The run cannot go on (an expired store, no sandbox): it fails with this
    `last_error`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ToolRequest:
    """What a server tool knows about the call: whose run, and what the model asked."""

    project: str
    run: dict[str, Any]
    private: dict[str, Any]
    call_id: str
    arguments: str
    round: int  # how many server tool calls this run made before this one


@dataclass
class ToolOutcome:
    """The step entry clients see, the text the model reads, and the run's new state."""

    entry: dict[str, Any]
    output: str
    private: dict[str, Any] = field(default_factory=dict)


class ServerTool(Protocol):
    type: str  # the tool type in `tools` and in step details, e.g. "file_search"

    def definition(self, run: dict[str, Any], private: dict[str, Any]) -> dict[str, Any]:
        """The function the model is shown (OpenAI's `{"type":"function",...}` shape)."""
        ...

    def first_entry(self, run: dict[str, Any], call_id: str) -> dict[str, Any]:
        """The step entry streamed while the tool runs (before its results)."""
        ...

    def input_so_far(self, arguments: str) -> str | None:
        """What the step shows as the call's `input` while the model is still writing
        `arguments` (code_interpreter's code); None for a tool that shows no input."""
        ...

    def result_delta(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        """The step delta that shows the call's results once it ran, or None when only
        the completed step carries them."""
        ...

    async def check(self, project: str, run: dict[str, Any]) -> dict[str, Any] | None:
        """Before the run's first model turn: raise ToolFailed if the run cannot use the
        tool; what it returns is kept in the run's private state."""
        ...

    async def run(self, request: ToolRequest) -> ToolOutcome: ...

    async def annotate(self, project: str, run: dict[str, Any], text: str) -> list[dict[str, Any]]:
        """Annotations the tool adds to the run's answer once it is written."""
        ...
