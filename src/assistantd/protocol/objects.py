"""The stored documents the engine edits: Run, RunStep, Message, as mypy-checked TypedDicts.

These are the response objects exactly as stored and served (key order is OpenAI's;
the builders in `services/run_docs.py` and `services/messages.py` write them in
that order). The engine changes them in several modules, so a misspelt field or a
value of the wrong type is a type error here rather than a schema failure in a test.
Nested objects that the engine passes through whole (tools, step details, content
parts) stay `dict[str, Any]`.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "ErrorInfo",
    "Exchange",
    "MessageDoc",
    "RunDoc",
    "RunPrivate",
    "RunStepDoc",
    "UsageInfo",
]


class UsageInfo(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ErrorInfo(TypedDict):
    code: str
    message: str


class RunDoc(TypedDict):
    id: str
    object: Literal["thread.run"]
    created_at: int
    assistant_id: str
    thread_id: str
    status: str
    started_at: int | None
    expires_at: int | None
    cancelled_at: int | None
    failed_at: int | None
    completed_at: int | None
    required_action: dict[str, Any] | None
    last_error: ErrorInfo | None
    model: str
    instructions: str
    tools: list[dict[str, Any]]
    metadata: dict[str, str]
    incomplete_details: dict[str, str] | None
    usage: UsageInfo | None
    temperature: float | None
    top_p: float | None
    max_prompt_tokens: int | None
    max_completion_tokens: int | None
    truncation_strategy: dict[str, Any]
    response_format: str | dict[str, Any]
    tool_choice: str | dict[str, Any]
    parallel_tool_calls: bool


class RunStepDoc(TypedDict):
    id: str
    object: Literal["thread.run.step"]
    created_at: int
    run_id: str
    assistant_id: str
    thread_id: str
    type: Literal["message_creation", "tool_calls"]
    status: str
    cancelled_at: int | None
    completed_at: int | None
    expired_at: int | None
    failed_at: int | None
    last_error: ErrorInfo | None
    step_details: dict[str, Any]
    usage: UsageInfo | None
    metadata: dict[str, str]


class MessageDoc(TypedDict):
    id: str
    object: Literal["thread.message"]
    created_at: int
    assistant_id: str | None
    thread_id: str
    run_id: str | None
    status: Literal["in_progress", "incomplete", "completed"]
    incomplete_details: dict[str, str] | None
    completed_at: int | None
    incomplete_at: int | None
    role: str
    content: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    metadata: dict[str, str]


class Exchange(TypedDict):
    """A server tool call the model made and the output it was given, replayed into the
    run's later prompts as the function call it was."""

    name: str
    arguments: str
    output: str


class RunPrivate(TypedDict):
    """What a run keeps besides its public document (the `private` column): options of
    the request that are not part of the Run object, and the engine's progress.

    Each server tool's state is its own sub-document under `tools[<type>]`, which only
    that tool reads or writes. Rows written before this type existed kept everything
    flat; engine/run_state.py reads both.
    """

    additional_instructions: str | None
    reasoning_effort: str | None
    include: list[str]  # the createRun `include[]` values
    tools_checked: bool  # each server tool has prepared the run
    server_rounds: int  # server tool calls made so far
    exchanges: dict[str, Exchange]  # by tool call id
    tools: dict[str, dict[str, Any]]  # by tool type
    # Where the prompt's earlier turns come from: "thread" (the run's thread), or a
    # history the executor was given under that name (engine/context.py, `History`).
    history: str
    # What the model's function calls do: the Assistants run waits for their outputs
    # (`requires_action`); a run behind a Response ends with them (`completed`), and
    # the outputs come in the next response's input.
    function_calls: Literal["require_action", "end_run"]
    # Tool resources of the run's own, read in place of its thread's: a response on a
    # conversation brings its tools' vector stores and files without changing the
    # conversation's. None: the assistant's and the thread's, as Assistants runs read.
    tool_resources: dict[str, Any] | None
