"""The documents a run produces: the Run itself, its steps, its assistant messages.

Each function returns a plain dict in OpenAI's key order; the engine and RunService
change them only through the helpers here, so every writer agrees on their shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from assistantd.errors import InvalidRequest
from assistantd.protocol.objects import MessageDoc, RunDoc, RunPrivate, RunStepDoc
from assistantd.services.documents import dump

__all__ = [
    "strip_search_content",
    "DEFAULT_TRUNCATION",
    "assistant_message_doc",
    "check_tool_choice",
    "run_schemas",
    "run_doc",
    "step_doc",
]

DEFAULT_TRUNCATION = {"type": "auto", "last_messages": None}


def run_doc(
    *,
    run_id: str,
    thread_id: str,
    assistant: dict[str, Any],
    req: Any,
    created_at: int,
    expires_at: int,
) -> RunDoc:
    """A new queued Run: the assistant's settings, overridden by the request's."""

    def pick(field: str, default: Any) -> Any:
        value = getattr(req, field, None)
        if value is not None and field in req.model_fields_set:
            return value
        return assistant.get(field, default)

    tools = [dump(t) for t in req.tools] if req.tools is not None else assistant["tools"]
    response_format = req.response_format if "response_format" in req.model_fields_set else None
    if response_format is None:
        response_format = assistant.get("response_format") or "auto"
    elif not isinstance(response_format, str):
        response_format = dump(response_format)
    tool_choice = req.tool_choice if req.tool_choice is not None else "auto"
    if not isinstance(tool_choice, str):
        tool_choice = dump(tool_choice)
    truncation = dump(req.truncation_strategy) if req.truncation_strategy else DEFAULT_TRUNCATION
    truncation = {"type": truncation["type"], "last_messages": truncation.get("last_messages")}
    # Key order follows OpenAI's RunObject reference.
    return {
        "id": run_id,
        "object": "thread.run",
        "created_at": created_at,
        "assistant_id": assistant["id"],
        "thread_id": thread_id,
        "status": "queued",
        "started_at": None,
        "expires_at": expires_at,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": req.model or assistant["model"],
        # OpenAI's schema types this as a string: "" rather than null.
        "instructions": (
            req.instructions if req.instructions is not None else assistant.get("instructions")
        )
        or "",
        "tools": tools,
        "metadata": req.metadata if req.metadata is not None else {},
        "incomplete_details": None,
        "usage": None,
        "temperature": pick("temperature", 1.0),
        "top_p": pick("top_p", 1.0),
        "max_prompt_tokens": req.max_prompt_tokens,
        "max_completion_tokens": req.max_completion_tokens,
        "truncation_strategy": truncation,
        "response_format": response_format,
        "tool_choice": tool_choice,
        "parallel_tool_calls": req.parallel_tool_calls,
    }


_BUILT_IN = frozenset({"code_interpreter", "file_search"})


def check_tool_choice(run: RunDoc) -> None:
    """Refuse, at create time, a tool_choice the run could only honour by ignoring it."""
    choice = run["tool_choice"]
    functions = {t["function"]["name"] for t in run["tools"] if t["type"] == "function"}
    enabled = {t["type"] for t in run["tools"]}
    if isinstance(choice, dict) and choice["type"] in _BUILT_IN:
        if choice["type"] not in enabled:
            raise InvalidRequest(
                f"Invalid 'tool_choice': the run has no {choice['type']} tool.",
                param="tool_choice",
                code="invalid_value",
            )
        return
    if isinstance(choice, dict) and choice["function"]["name"] not in functions:
        raise InvalidRequest(
            f"Invalid 'tool_choice': function '{choice['function']['name']}' is not one of "
            f"the run's tools ({', '.join(sorted(functions)) or 'none'}).",
            param="tool_choice.function.name",
            code="invalid_value",
        )
    if choice == "required" and not functions and not enabled & _BUILT_IN:
        raise InvalidRequest(
            "Invalid 'tool_choice': 'required' needs at least one tool on the run.",
            param="tool_choice",
            code="invalid_value",
        )


def new_private(
    *, additional_instructions: str | None, reasoning_effort: str | None, include: Sequence[str]
) -> RunPrivate:
    """A new run's private state: the request's options that the Run object does not show."""
    return {
        "additional_instructions": additional_instructions,
        "reasoning_effort": reasoning_effort,
        "include": list(include),
        "tools_checked": False,
        "server_rounds": 0,
        "exchanges": {},
        "tools": {},
        "history": "thread",
        "function_calls": "require_action",
        "tool_resources": None,
    }


def strip_search_content(doc: bytes) -> bytes:
    """A run step without its file_search results' `content`, as OpenAI answered unless
    `include[]=step_details.tool_calls[*].file_search.results[*].content` was asked."""
    if b'"file_search"' not in doc:
        return doc
    step = orjson.loads(doc)
    details = step.get("step_details") or {}
    for call in details.get("tool_calls") or []:
        if call.get("type") == "file_search":
            for result in call["file_search"].get("results") or []:
                result.pop("content", None)
    return orjson.dumps(step)


def run_schemas(run: RunDoc) -> list[tuple[str, Any]]:
    """(param, JSON schema) for every schema the run holds its model to: its function
    tools' parameters and a json_schema response_format."""
    out: list[tuple[str, Any]] = [
        (f"tools[{i}].function.parameters", t["function"].get("parameters") or {})
        for i, t in enumerate(run["tools"])
        if t["type"] == "function"
    ]
    response_format = run["response_format"]
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = response_format["json_schema"].get("schema") or {"type": "object"}
        out.append(("response_format.json_schema.schema", schema))
    return out


def step_doc(
    *,
    step_id: str,
    run: RunDoc,
    created_at: int,
    details: dict[str, Any],
) -> RunStepDoc:
    # Key order follows OpenAI's RunStepObject reference.
    return {
        "id": step_id,
        "object": "thread.run.step",
        "created_at": created_at,
        "run_id": run["id"],
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "type": details["type"],
        "status": "in_progress",
        "cancelled_at": None,
        "completed_at": None,
        "expired_at": None,
        "failed_at": None,
        "last_error": None,
        "step_details": details,
        "usage": None,
        "metadata": {},
    }


def assistant_message_doc(*, message_id: str, run: RunDoc, created_at: int) -> MessageDoc:
    """The message a run writes its answer into; in progress until the run finishes."""
    return {
        "id": message_id,
        "object": "thread.message",
        "created_at": created_at,
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "run_id": run["id"],
        "status": "in_progress",
        "incomplete_details": None,
        "completed_at": None,
        "incomplete_at": None,
        "role": "assistant",
        "content": [],
        "attachments": [],
        "metadata": {},
    }
