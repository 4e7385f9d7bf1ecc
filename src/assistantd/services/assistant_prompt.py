"""An assistant as a Response's prompt (an extension, docs/conversations.md, "An
assistant is a prompt").

OpenAI's prompts are templates kept in its dashboard, named `pmpt_…`; the thing an
Assistants app already has is its assistant. So `prompt={"id": "asst_…"}` gives the
response the assistant's model, instructions, tools and tool resources (its vector
stores become `file_search.vector_store_ids`, its code_interpreter files the
container's), and sampling settings, each unless the request gives its own. The
prompt's `variables` fill `{{name}}` placeholders in the instructions.
"""

from __future__ import annotations

from typing import Any

from assistantd.errors import InvalidRequest
from assistantd.ids import IdKind, InvalidIdError, check_id
from assistantd.protocol.responses import ResponseCreate

__all__ = ["assistant_id", "with_assistant"]

JSON = dict[str, Any]


def assistant_id(req: ResponseCreate) -> str | None:
    """The assistant the request names as its prompt, checked; None without a prompt."""
    if req.prompt is None:
        return None
    value = req.prompt.get("id")
    if not isinstance(value, str):
        raise InvalidRequest(
            "Missing required parameter: 'prompt.id'.",
            param="prompt.id",
            code="missing_required_parameter",
        )
    try:
        return check_id(IdKind.assistant, value, "prompt.id")
    except InvalidIdError:
        raise InvalidRequest(
            f"Invalid 'prompt.id': '{value}'. This server takes an assistant's id "
            "('asst_…') as a prompt; OpenAI's prompt templates live in its dashboard.",
            param="prompt.id",
            code="invalid_id",
        ) from None


def _variables(req: ResponseCreate) -> dict[str, str]:
    raw = (req.prompt or {}).get("variables") or {}
    if not isinstance(raw, dict):
        raise InvalidRequest(
            "Invalid type for 'prompt.variables': expected an object.",
            param="prompt.variables",
            code="invalid_type",
        )
    out = {}
    for name, value in raw.items():
        if not isinstance(value, str):
            raise InvalidRequest(
                f"Invalid 'prompt.variables.{name}': only text variables are supported.",
                param=f"prompt.variables.{name}",
                code="invalid_type",
            )
        out[name] = value
    return out


def _tools(assistant: JSON) -> list[JSON]:
    """The assistant's tools in the Responses form, naming its tool resources."""
    resources = assistant.get("tool_resources") or {}
    out: list[JSON] = []
    for tool in assistant.get("tools") or []:
        kind = tool["type"]
        if kind == "function":
            out.append({"type": "function", **tool["function"]})
        elif kind == "file_search":
            options = tool.get("file_search") or {}
            stores = (resources.get("file_search") or {}).get("vector_store_ids") or []
            out.append({"type": "file_search", "vector_store_ids": list(stores), **options})
        elif kind == "code_interpreter":
            files = (resources.get("code_interpreter") or {}).get("file_ids") or []
            out.append(
                {"type": "code_interpreter", "container": {"type": "auto", "file_ids": files}}
            )
    return out


def _text(assistant: JSON) -> JSON | None:
    fmt = assistant.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") == "text":
        return None
    if fmt.get("type") == "json_schema":
        return {"format": {"type": "json_schema", **fmt.get("json_schema", {})}}
    return {"format": {"type": fmt["type"]}}


def with_assistant(req: ResponseCreate, assistant: JSON) -> ResponseCreate:
    """The request with what it leaves out taken from the assistant."""
    given = req.model_fields_set
    instructions = req.instructions if "instructions" in given else assistant.get("instructions")
    for name, value in _variables(req).items():
        instructions = (instructions or "").replace("{{" + name + "}}", value)
    update: JSON = {"instructions": instructions}
    if req.model is None:
        update["model"] = assistant["model"]
    if "tools" not in given:
        update["tools"] = _tools(assistant)
    if "temperature" not in given and assistant.get("temperature") is not None:
        update["temperature"] = assistant["temperature"]
    if "top_p" not in given and assistant.get("top_p") is not None:
        update["top_p"] = assistant["top_p"]
    if "text" not in given and (text := _text(assistant)) is not None:
        update["text"] = text
    return req.model_copy(update=update)
