"""Run requests: RunCreate, ThreadAndRunCreate, RunUpdate, SubmitToolOutputs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from assistantd.protocol.assistants import ReasoningEffort
from assistantd.protocol.common import Metadata, RequestModel
from assistantd.protocol.messages import MessageCreate
from assistantd.protocol.threads import ThreadCreate
from assistantd.protocol.tools import AssistantTool, ResponseFormat, ToolResources

__all__ = [
    "ACTIVE_STATUSES",
    "INCLUDABLE",
    "TERMINAL_STATUSES",
    "RunCreate",
    "RunStatus",
    "RunUpdate",
    "SubmitToolOutputs",
    "ThreadAndRunCreate",
    "ToolChoice",
    "TruncationStrategy",
]

RunStatus = Literal[
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
]
# A thread with a run in one of these takes no new message and no new run.
ACTIVE_STATUSES: tuple[str, ...] = ("queued", "in_progress", "requires_action", "cancelling")
TERMINAL_STATUSES: tuple[str, ...] = ("cancelled", "failed", "completed", "incomplete", "expired")
# What `include[]` may name on createRun and on run steps.
INCLUDABLE = frozenset({"step_details.tool_calls[*].file_search.results[*].content"})


class TruncationStrategy(RequestModel):
    type: Literal["auto", "last_messages"]
    last_messages: int | None = Field(default=None, ge=1)


class FunctionName(RequestModel):
    name: str = Field(min_length=1, max_length=64)


class NamedToolChoice(RequestModel):
    type: Literal["function", "code_interpreter", "file_search"]
    function: FunctionName | None = None

    @model_validator(mode="after")
    def _function_named(self) -> NamedToolChoice:
        if self.type == "function" and self.function is None:
            raise ValueError("Invalid 'tool_choice': a function tool choice needs 'function.name'.")
        return self


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class _RunOptions(RequestModel):
    """Fields a run takes on top of, or instead of, its assistant's."""

    assistant_id: str = Field(min_length=1)
    model: str | None = Field(default=None, min_length=1, max_length=256)
    instructions: str | None = None
    tools: list[AssistantTool] | None = Field(default=None, max_length=20)
    metadata: Metadata = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stream: bool | None = None
    max_prompt_tokens: int | None = Field(default=None, ge=256)
    max_completion_tokens: int | None = Field(default=None, ge=256)
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None


class RunCreate(_RunOptions):
    reasoning_effort: ReasoningEffort | None = None
    additional_instructions: str | None = None
    additional_messages: list[MessageCreate] | None = None


class ThreadAndRunCreate(_RunOptions):
    thread: ThreadCreate | None = None
    tool_resources: ToolResources | None = None


class RunUpdate(RequestModel):
    metadata: Metadata = None


class ToolOutput(RequestModel):
    tool_call_id: str = Field(min_length=1)
    output: str = ""


class SubmitToolOutputs(RequestModel):
    tool_outputs: list[ToolOutput] = Field(min_length=1)
    stream: bool | None = None
