"""What a create request becomes: the fields the Response echoes, the run behind it and
that run's private state; and the request-level refusals (docs/responses.md)."""

from __future__ import annotations

from typing import Any

from assistantd.errors import InvalidRequest
from assistantd.ids import IdKind, InvalidIdError, check_id
from assistantd.protocol.objects import RunDoc, RunPrivate
from assistantd.protocol.responses import RESPONSE_INCLUDABLE, InputTokensCreate, ResponseCreate
from assistantd.services.response_tools import echoed_tools, run_tools, tool_choice
from assistantd.services.runs import QUEUED_EXPIRY_S

__all__ = [
    "conversation_id",
    "echoed",
    "model_of",
    "refuse_unsupported",
    "run_doc",
    "run_private",
]

JSON = dict[str, Any]


def _response_format(text: JSON | None) -> str | JSON:
    fmt = (text or {}).get("format") or {"type": "text"}
    kind = fmt.get("type")
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = {k: fmt[k] for k in ("name", "description", "schema", "strict") if k in fmt}
        if not isinstance(schema.get("name"), str):
            raise InvalidRequest(
                "Missing required parameter: 'text.format.name'.",
                param="text.format.name",
                code="missing_required_parameter",
            )
        return {"type": "json_schema", "json_schema": schema}
    if kind != "text":
        raise InvalidRequest(
            f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object' and "
            "'json_schema'.",
            param="text.format.type",
            code="invalid_value",
        )
    return "auto"


def echoed(req: ResponseCreate, created_at: int, model: str) -> JSON:
    """The request's fields as the Response object shows them (its `doc` column)."""
    text = dict(req.text or {})
    # Optional fields the schema does not let be null: left out when not given.
    given: JSON = {
        key: value
        for key, value in (
            ("prompt_cache_key", req.prompt_cache_key),
            ("prompt_cache_retention", req.prompt_cache_retention),
            ("safety_identifier", req.safety_identifier),
            ("user", req.user),
        )
        if value is not None
    }
    if req.prompt is not None:
        given["prompt"] = {
            "id": req.prompt.get("id"),
            "variables": req.prompt.get("variables"),
            "version": req.prompt.get("version"),
        }
    text.setdefault("format", {"type": "text"})
    text.setdefault("verbosity", "medium")
    return {
        "created_at": created_at,
        "background": bool(req.background),
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "max_tool_calls": req.max_tool_calls,
        "model": model,
        "parallel_tool_calls": True if req.parallel_tool_calls is None else req.parallel_tool_calls,
        "reasoning": req.reasoning or {"effort": None, "summary": None},
        "store": req.store is not False,
        "temperature": 1.0 if req.temperature is None else req.temperature,
        "text": text,
        "tool_choice": req.tool_choice if req.tool_choice is not None else "auto",
        "tools": echoed_tools(req.tools or []),
        "top_p": 1.0 if req.top_p is None else req.top_p,
        "truncation": req.truncation or "disabled",
        "metadata": req.metadata or {},
        "conversation": None,
        "service_tier": req.service_tier or "default",
        "top_logprobs": req.top_logprobs or 0,
        **given,
    }


def conversation_id(req: ResponseCreate | InputTokensCreate) -> str | None:
    """The conversation the response reads and appends to (`conv_…` or a `thread_…`:
    a thread is a conversation), checked; None without one."""
    raw = req.conversation
    if raw is None:
        return None
    param = "conversation.id" if isinstance(raw, dict) else "conversation"
    value = raw.get("id") if isinstance(raw, dict) else raw
    if not isinstance(value, str):
        raise InvalidRequest(
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        )
    if req.previous_response_id is not None:
        raise InvalidRequest(
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            param="conversation",
            code="mutually_exclusive_parameters",
        )
    try:
        return check_id(IdKind.conversation, value, param)
    except InvalidIdError as exc:
        raise InvalidRequest(str(exc), param=param, code="invalid_id") from None


def model_of(model: str | None) -> str:
    if model is None:
        raise InvalidRequest(
            "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
        )
    return model


def refuse_unsupported(req: ResponseCreate) -> None:
    if req.background and req.store is False:
        raise InvalidRequest(
            "Invalid 'store': background responses must be stored (store: true).",
            param="store",
            code="invalid_value",
        )
    for i, value in enumerate(req.include or []):
        if value not in RESPONSE_INCLUDABLE:
            raise InvalidRequest(
                f"Invalid value: '{value}'. Supported values are: "
                + ", ".join(f"'{v}'" for v in sorted(RESPONSE_INCLUDABLE))
                + ".",
                param=f"include[{i}]",
                code="invalid_value",
            )


def run_doc(req: ResponseCreate, run_id: str, thread_id: str, now: int) -> RunDoc:
    """The run behind a response: queued on the response's own thread."""
    tools, _resources, _stores, _refs = run_tools(req.tools or [])
    truncation = {"type": "auto", "last_messages": None}
    return {
        "id": run_id,
        "object": "thread.run",
        "created_at": now,
        "assistant_id": "",
        "thread_id": thread_id,
        "status": "queued",
        "started_at": None,
        "expires_at": now + QUEUED_EXPIRY_S,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": model_of(req.model),
        "instructions": req.instructions or "",
        "tools": tools,
        "metadata": {},
        "incomplete_details": None,
        "usage": None,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "max_prompt_tokens": None,
        "max_completion_tokens": req.max_output_tokens,
        "truncation_strategy": truncation,
        "response_format": _response_format(req.text),
        "tool_choice": tool_choice(req.tool_choice),
        "parallel_tool_calls": req.parallel_tool_calls is not False,
    }


def run_private(req: ResponseCreate) -> RunPrivate:
    """The run's private state: what makes it a response's (docs/responses.md)."""
    return {
        "additional_instructions": None,
        "reasoning_effort": (req.reasoning or {}).get("effort"),
        "include": list(req.include or []),
        "tools_checked": False,
        "server_rounds": 0,
        "exchanges": {},
        "tools": {},
        # Prompted from the response chain, and ended by its function calls.
        "history": "response",
        "function_calls": "end_run",
        "tool_resources": None,
    }
