"""A Response's input and tools: checked, given ids, and turned into what the engine takes.

- `input_items` checks `input` item by item (a 400 names the exact path) and returns the
  items as stored and listed by `/responses/{id}/input_items`, each with an id.
- `run_tools` turns the Responses tools (flat function tools, `file_search` naming its
  vector stores, `code_interpreter` naming its container) into a run's tools plus the
  tool resources of the response's own thread; a tool this server cannot run is a 400
  naming it, never silently dropped.
- `chat_groups` turns stored items into the chat messages a model is prompted with, a
  function call and its output kept together (engine/context.py keeps or drops a group).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from assistantd.errors import InvalidRequest
from assistantd.ids import IdKind, new_id
from assistantd.protocol.vector_stores import Filter

__all__ = [
    "FileRefs",
    "ItemRef",
    "chat_groups",
    "echoed_tools",
    "file_parts",
    "input_items",
    "run_tools",
    "shown",
    "tool_choice",
]

JSON = dict[str, Any]
FileRefs = list[tuple[str, str]]  # (file id, param)
ItemRef = tuple[int, str]  # (position in input, referenced item id)

_ROLES = ("user", "assistant", "system", "developer")
_FILTER: TypeAdapter[Filter] = TypeAdapter(Filter)
# Tools of OpenAI's that need something this server does not have (the web, a browser,
# an image model, a remote MCP server, a shell): refused by name.
_UNRUNNABLE = {
    "web_search": "web search",
    "web_search_preview": "web search",
    "web_search_2025_08_26": "web search",
    "web_search_preview_2025_03_11": "web search",
    "mcp": "remote MCP servers",
    "computer_use_preview": "computer use",
    "computer_use": "computer use",
    "image_generation": "image generation",
    "local_shell": "a local shell",
    "shell": "a shell",
    "apply_patch": "patch application",
    "custom": "custom (grammar) tools",
}


def _bad(message: str, param: str, code: str = "invalid_value") -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)


def _text(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"Invalid type for '{param}': expected a string.", param, "invalid_type")
    return value


def _parts(role: str, content: Any, param: str, refs: FileRefs) -> list[JSON]:
    if isinstance(content, str):
        return [_text_part("output_text" if role == "assistant" else "input_text", content)]
    if not isinstance(content, list):
        raise _bad(
            f"Invalid type for '{param}': expected a string or an array of content parts.",
            param,
            "invalid_type",
        )
    parts = []
    for i, part in enumerate(content):
        where = f"{param}[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "input_text" or kind == "output_text":
            parts.append(_text_part(str(kind), _text(part.get("text"), f"{where}.text")))
        elif kind == "refusal":
            parts.append({"type": "refusal", "refusal": _text(part.get("refusal"), where)})
        elif kind == "input_image":
            parts.append(_image_part(part, where, refs))
        elif kind == "input_file":
            parts.append(_file_part(part, where, refs))
        else:
            raise _bad(
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
        raise _bad(f"Invalid value for '{where}.detail': '{detail}'.", f"{where}.detail")
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
    raise _bad(
        f"Missing required parameter: '{where}.image_url' (or '{where}.file_id').",
        f"{where}.image_url",
        "missing_required_parameter",
    )


def _file_part(part: JSON, where: str, refs: FileRefs) -> JSON:
    """A File the model reads as text (services/responses.py extracts it, `_text`)."""
    if not isinstance(part.get("file_id"), str):
        raise _bad(
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
        raise _bad(
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
        raise _bad(
            f"Missing required parameter: '{param}.call_id'.",
            f"{param}.call_id",
            "missing_required_parameter",
        )
    return value


def _item(item: Any, param: str, refs: FileRefs, references: list[ItemRef], at: int) -> JSON:
    if not isinstance(item, dict):
        raise _bad(f"Invalid type for '{param}': expected an object.", param, "invalid_type")
    kind = item.get("type", "message" if "role" in item else None)
    own_id = item.get("id") if isinstance(item.get("id"), str) else None
    if kind == "message":
        return _message(item, param, refs)
    if kind == "function_call":
        return {
            "id": own_id or new_id(IdKind.function_call_item),
            "type": "function_call",
            "call_id": _call_id(item, param),
            "name": _text(item.get("name"), f"{param}.name"),
            "arguments": _text(item.get("arguments", ""), f"{param}.arguments"),
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
        references.append((at, _text(item.get("id"), f"{param}.id")))
        return {"type": "item_reference", "id": item["id"]}
    if kind in ("reasoning", "file_search_call", "code_interpreter_call"):
        # Earlier output given back: kept and listed; reasoning is not shown to a model.
        return {**item, "id": own_id or new_id(IdKind.message)}
    raise _bad(
        f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call', "
        "'function_call_output', 'item_reference', 'reasoning', 'file_search_call' and "
        "'code_interpreter_call'.",
        f"{param}.type",
    )


def input_items(raw: str | list[Any] | None) -> tuple[list[JSON], FileRefs, list[ItemRef]]:
    """The input as stored items, the Files they name, and the item references still to
    be resolved (services/responses.py reads them from the store)."""
    refs: FileRefs = []
    references: list[ItemRef] = []
    if raw is None:
        return [], refs, references
    if isinstance(raw, str):
        return [_message({"role": "user", "content": raw}, "input", refs)], refs, references
    items = [_item(item, f"input[{i}]", refs, references, i) for i, item in enumerate(raw)]
    return items, refs, references


def _function_tool(tool: JSON, param: str) -> JSON:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise _bad(
            f"Missing required parameter: '{param}.name'.",
            f"{param}.name",
            "missing_required_parameter",
        )
    function: JSON = {"name": name}
    if tool.get("description") is not None:
        function["description"] = _text(tool["description"], f"{param}.description")
    function["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
    if tool.get("strict") is not None:  # the Response shows OpenAI's default; not sent on
        function["strict"] = bool(tool["strict"])
    return {"type": "function", "function": function}


def _filters(value: Any, param: str) -> JSON:
    """Attribute filters as vector_stores.search takes them, or a 400 naming them."""
    try:
        checked = _FILTER.validate_python(value)
    except ValidationError as exc:
        raise _bad(f"Invalid '{param}': {exc.errors()[0]['msg']}.", param) from None
    dumped: JSON = checked.model_dump(mode="json")
    return dumped


def echoed_tools(tools: Sequence[JSON]) -> list[JSON]:
    """The tools as the Response object shows them: every field the schema requires,
    with OpenAI's defaults (a function tool is strict unless it says otherwise)."""
    out = []
    for tool in tools:
        if tool["type"] == "function":
            out.append(
                {
                    "type": "function",
                    "name": tool["name"],
                    "description": tool.get("description"),
                    "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
                    "strict": True if tool.get("strict") is None else bool(tool["strict"]),
                }
            )
        elif tool["type"] == "file_search":
            shown = {"type": "file_search", "vector_store_ids": list(tool["vector_store_ids"])}
            for key in ("max_num_results", "ranking_options"):
                if tool.get(key) is not None:
                    shown[key] = tool[key]
            out.append({**shown, "filters": tool.get("filters")})
        else:
            out.append({"type": tool["type"], "container": tool["container"]})
    return out


def run_tools(tools: Sequence[Any]) -> tuple[list[JSON], JSON, list[tuple[str, str]], FileRefs]:
    """(the run's tools, its thread's tool_resources, vector store refs, File refs)."""
    out: list[JSON] = []
    resources: JSON = {}
    stores: list[tuple[str, str]] = []
    refs: FileRefs = []
    for i, tool in enumerate(tools):
        param = f"tools[{i}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "function":
            out.append(_function_tool(tool, param))
        elif kind == "file_search":
            ids = tool.get("vector_store_ids")
            if not isinstance(ids, list) or not all(isinstance(s, str) for s in ids):
                raise _bad(
                    f"Missing required parameter: '{param}.vector_store_ids'.",
                    f"{param}.vector_store_ids",
                    "missing_required_parameter",
                )
            stores += [(s, f"{param}.vector_store_ids[{j}]") for j, s in enumerate(ids)]
            options: JSON = {}
            if tool.get("max_num_results") is not None:
                options["max_num_results"] = tool["max_num_results"]
            if tool.get("ranking_options") is not None:
                options["ranking_options"] = tool["ranking_options"]
            if tool.get("filters") is not None:
                options["filters"] = _filters(tool["filters"], f"{param}.filters")
            out.append({"type": "file_search", "file_search": options})
            resources["file_search"] = {"vector_store_ids": list(ids)}
        elif kind == "code_interpreter":
            container = tool.get("container")
            if not isinstance(container, dict) or container.get("type") != "auto":
                raise _bad(
                    f"Invalid '{param}.container': this server has no Containers API; give "
                    '`{"type": "auto", "file_ids": [...]}`.',
                    f"{param}.container",
                    "unsupported_value",
                )
            file_ids = container.get("file_ids") or []
            refs += [(f, f"{param}.container.file_ids[{j}]") for j, f in enumerate(file_ids)]
            out.append({"type": "code_interpreter"})
            resources["code_interpreter"] = {"file_ids": list(file_ids)}
        elif isinstance(kind, str) and kind in _UNRUNNABLE:
            raise _bad(
                f"Tool '{kind}' is not supported by this server: it has no {_UNRUNNABLE[kind]}.",
                f"{param}.type",
                "unsupported_tool",
            )
        else:
            raise _bad(
                f"Invalid value: '{kind}'. Supported values are: 'function', 'file_search' "
                "and 'code_interpreter'.",
                f"{param}.type",
            )
    return out, resources, stores, refs


def tool_choice(choice: str | JSON | None) -> str | JSON:
    """The run's tool_choice for a Responses tool_choice."""
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise _bad(
                f"Invalid value: '{choice}'. Supported values are: 'none', 'auto' and 'required'.",
                "tool_choice",
            )
        return choice
    kind = choice.get("type")
    if kind == "function":
        name = _text(choice.get("name"), "tool_choice.name")
        return {"type": "function", "function": {"name": name}}
    if kind in ("file_search", "code_interpreter"):
        return {"type": kind}
    if kind == "allowed_tools":
        mode = choice.get("mode") or "auto"
        if mode not in ("auto", "required"):
            raise _bad(f"Invalid value: '{mode}'.", "tool_choice.mode")
        return str(mode)
    raise _bad(f"Invalid value for 'tool_choice.type': '{kind}'.", "tool_choice.type")


def _text_of(content: list[JSON]) -> str:
    texts = []
    for part in content:
        if part["type"] == "input_file":
            texts.append(
                f"[file {part.get('filename') or part['file_id']}]\n{part.get('_text', '')}"
            )
        elif part["type"] != "input_image":
            texts.append(part.get("text") or part.get("refusal") or "")
    return "\n".join(texts)


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


def _chat(item: JSON) -> JSON | None:
    """A message item as a chat message (None for items a model is not shown)."""
    role = item["role"]
    content = item["content"]
    images = [p for p in content if p["type"] == "input_image"]
    if role in ("system", "developer"):
        return {"role": "system", "content": _text_of(content)}
    if role == "user" and images:
        parts: list[JSON] = [{"type": "text", "text": _text_of(content)}]
        for image in images:
            if image.get("file_id"):
                detail = image.get("detail") or "auto"
                parts.append(
                    {
                        "type": "image_file",
                        "image_file": {"file_id": image["file_id"], "detail": detail},
                    }
                )
            else:
                parts.append({"type": "image_url", "image_url": {"url": image["image_url"]}})
        return {"role": "user", "content": parts}
    return {"role": role, "content": _text_of(content)}


def _server_call(item: JSON) -> tuple[JSON, str]:
    """A file_search or code_interpreter call given back as input: the function call the
    model made and what it was told."""
    if item["type"] == "file_search_call":
        arguments = orjson.dumps({"query": " ".join(item.get("queries") or [])}).decode()
        results = item.get("results") or []
        output = "\n\n".join(f"{r.get('filename', '')}\n{r.get('text', '')}" for r in results)
        return {"name": "file_search", "arguments": arguments}, output
    arguments = orjson.dumps({"code": item.get("code") or ""}).decode()
    logs = [o.get("logs", "") for o in item.get("outputs") or [] if o.get("type") == "logs"]
    return {"name": "code_interpreter", "arguments": arguments}, "\n".join(logs)


def chat_groups(items: Sequence[JSON], outputs: dict[str, str]) -> list[list[JSON]]:
    """Items (oldest first) as prompt groups, newest first.

    `outputs` carries function outputs whose calls come earlier than these items (read
    newest first, an output is seen before its call): a call takes its output from it,
    and outputs met here are added to it for the calls still to come."""
    groups: list[list[JSON]] = []
    pending: list[JSON] = []  # function calls of one assistant turn, newest first

    def close_turn() -> None:
        if not pending:
            return
        calls = list(reversed(pending))
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": c["call_id"], "type": "function", "function": c["function"]} for c in calls
            ],
        }
        answers = [
            {"role": "tool", "tool_call_id": c["call_id"], "content": outputs.pop(c["call_id"], "")}
            for c in calls
        ]
        groups.append([message, *answers])
        pending.clear()

    for item in reversed(items):
        kind = item["type"]
        if kind == "function_call_output":
            close_turn()
            outputs[item["call_id"]] = item["output"]
        elif kind == "function_call":
            pending.append(
                {
                    "call_id": item["call_id"],
                    "function": {"name": item["name"], "arguments": item["arguments"]},
                }
            )
        elif kind in ("file_search_call", "code_interpreter_call"):
            function, output = _server_call(item)
            outputs.setdefault(item["id"], output)
            pending.append({"call_id": item["id"], "function": function})
        elif kind == "message":
            close_turn()
            chat = _chat(item)
            if chat is not None:
                groups.append([chat])
        else:
            close_turn()  # reasoning: not shown to a model
    close_turn()
    return groups
