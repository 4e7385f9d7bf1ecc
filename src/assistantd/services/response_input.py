"""A Response's input, checked item by item (a 400 names the exact path, `input[2].call_id`)
and given ids: the items as stored, prompted (services/response_prompt.py) and listed
by `/responses/{id}/input_items`. Tools: services/response_tools.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from assistantd.errors import InvalidRequest
from assistantd.ids import IdKind, new_id

__all__ = [
    "FileRefs",
    "ItemRef",
    "file_parts",
    "input_items",
    "invalid",
    "shown",
    "string",
]

JSON = dict[str, Any]
FileRefs = list[tuple[str, str]]  # (file id, param)
ItemRef = tuple[int, str]  # (position in input, referenced item id)

_ROLES = ("user", "assistant", "system", "developer")


def invalid(message: str, param: str, code: str = "invalid_value") -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)


def string(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise invalid(f"Invalid type for '{param}': expected a string.", param, "invalid_type")
    return value


def _parts(role: str, content: Any, param: str, refs: FileRefs) -> list[JSON]:
    if isinstance(content, str):
        return [_text_part("output_text" if role == "assistant" else "input_text", content)]
    if not isinstance(content, list):
        raise invalid(
            f"Invalid type for '{param}': expected a string or an array of content parts.",
            param,
            "invalid_type",
        )
    parts = []
    for i, part in enumerate(content):
        where = f"{param}[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "input_text" or kind == "output_text":
            parts.append(_text_part(str(kind), string(part.get("text"), f"{where}.text")))
        elif kind == "refusal":
            parts.append({"type": "refusal", "refusal": string(part.get("refusal"), where)})
        elif kind == "input_image":
            parts.append(_image_part(part, where, refs))
        elif kind == "input_file":
            parts.append(_file_part(part, where, refs))
        else:
            raise invalid(
                f"Invalid value: '{kind}'. Supported values are: 'input_text', 'input_image', "
                "'output_text' and 'refusal'.",
                f"{where}.type",
            )
    return parts


def _text_part(kind: str, text: str) -> JSON:
    if kind == "output_text":
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "input_text", "text": text}


def _image_part(part: JSON, where: str, refs: FileRefs) -> JSON:
    detail = part.get("detail") or "auto"
    if detail not in ("auto", "low", "high"):
        raise invalid(f"Invalid value for '{where}.detail': '{detail}'.", f"{where}.detail")
    if isinstance(part.get("file_id"), str):
        refs.append((part["file_id"], f"{where}.file_id"))
        return {
            "type": "input_image",
            "file_id": part["file_id"],
            "image_url": None,
            "detail": detail,
        }
    if isinstance(part.get("image_url"), str):
        url = part["image_url"]
        return {"type": "input_image", "file_id": None, "image_url": url, "detail": detail}
    raise invalid(
        f"Missing required parameter: '{where}.image_url' (or '{where}.file_id').",
        f"{where}.image_url",
        "missing_required_parameter",
    )


def _file_part(part: JSON, where: str, refs: FileRefs) -> JSON:
    """A File the model reads as text (services/responses.py extracts it, `_text`)."""
    if not isinstance(part.get("file_id"), str):
        raise invalid(
            f"Invalid '{where}': give an uploaded File's `file_id`; this server does not "
            "fetch `file_url`s (it reaches no network) nor take inline `file_data`.",
            f"{where}.file_id",
            "unsupported_value",
        )
    refs.append((part["file_id"], f"{where}.file_id"))
    return {"type": "input_file", "file_id": part["file_id"], "filename": None}


def _message(item: JSON, param: str, refs: FileRefs) -> JSON:
    role = item.get("role")
    if role not in _ROLES:
        raise invalid(
            f"Invalid value: '{role}'. Supported values are: 'user', 'assistant', 'system' "
            "and 'developer'.",
            f"{param}.role",
        )
    content = _parts(role, item.get("content"), f"{param}.content", refs)
    item_id = item.get("id") if isinstance(item.get("id"), str) else new_id(IdKind.message)
    return {
        "id": item_id,
        "type": "message",
        "role": role,
        "content": content,
        "status": "completed",
    }


def _call_id(item: JSON, param: str) -> str:
    value = item.get("call_id")
    if not isinstance(value, str) or not value:
        raise invalid(
            f"Missing required parameter: '{param}.call_id'.",
            f"{param}.call_id",
            "missing_required_parameter",
        )
    return value


def _item(item: Any, param: str, refs: FileRefs, references: list[ItemRef], at: int) -> JSON:
    if not isinstance(item, dict):
        raise invalid(f"Invalid type for '{param}': expected an object.", param, "invalid_type")
    kind = item.get("type", "message" if "role" in item else None)
    own_id = item.get("id") if isinstance(item.get("id"), str) else None
    if kind == "message":
        return _message(item, param, refs)
    if kind == "function_call":
        return {
            "id": own_id or new_id(IdKind.function_call_item),
            "type": "function_call",
            "call_id": _call_id(item, param),
            "name": string(item.get("name"), f"{param}.name"),
            "arguments": string(item.get("arguments", ""), f"{param}.arguments"),
            "status": "completed",
        }
    if kind == "function_call_output":
        output = item.get("output")
        if not isinstance(output, str):
            output = orjson.dumps(output).decode()  # a list of content parts, as JSON
        return {
            "id": own_id or new_id(IdKind.function_call_item),
            "type": "function_call_output",
            "call_id": _call_id(item, param),
            "output": output,
            "status": "completed",
        }
    if kind == "item_reference":
        references.append((at, string(item.get("id"), f"{param}.id")))
        return {"type": "item_reference", "id": item["id"]}
    if kind in ("reasoning", "file_search_call", "code_interpreter_call"):
        # Earlier output given back: kept and listed; reasoning is not shown to a model.
        return {**item, "id": own_id or new_id(IdKind.message)}
    raise invalid(
        f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call', "
        "'function_call_output', 'item_reference', 'reasoning', 'file_search_call' and "
        "'code_interpreter_call'.",
        f"{param}.type",
    )


def input_items(
    raw: str | list[Any] | None, param: str = "input"
) -> tuple[list[JSON], FileRefs, list[ItemRef]]:
    """The input as stored items, the Files they name, and the item references still to
    be resolved (services/responses.py reads them from the store). `param` names the
    list in errors (`items` for the Conversations API)."""
    refs: FileRefs = []
    references: list[ItemRef] = []
    if raw is None:
        return [], refs, references
    if isinstance(raw, str):
        return [_message({"role": "user", "content": raw}, param, refs)], refs, references
    items = [_item(item, f"{param}[{i}]", refs, references, i) for i, item in enumerate(raw)]
    return items, refs, references


def file_parts(items: Sequence[JSON]) -> list[tuple[JSON, str]]:
    """Each input_file part of the items (to be given its text) and its param."""
    found = []
    for i, item in enumerate(items):
        for j, part in enumerate(item.get("content") or [] if item["type"] == "message" else []):
            if part["type"] == "input_file":
                found.append((part, f"input[{i}].content[{j}].file_id"))
    return found


def shown(item: JSON) -> JSON:
    """An input item as listed: without the text extracted from its files."""
    if item["type"] != "message" or not any(p["type"] == "input_file" for p in item["content"]):
        return item
    content = [{k: v for k, v in p.items() if k != "_text"} for p in item["content"]]
    return {**item, "content": content}
