"""A Response's tools as a run's: flat function tools become nested ones, `file_search`
names its vector stores (the response's thread's tool resources), `code_interpreter`
its files; a tool this server cannot run is a 400 naming it, never silently dropped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from assistantd.protocol.vector_stores import Filter
from assistantd.services.response_input import FileRefs, invalid, string

__all__ = ["echoed_tools", "run_tools", "tool_choice"]

JSON = dict[str, Any]
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


def _function_tool(tool: JSON, param: str) -> JSON:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise invalid(
            f"Missing required parameter: '{param}.name'.",
            f"{param}.name",
            "missing_required_parameter",
        )
    function: JSON = {"name": name}
    if tool.get("description") is not None:
        function["description"] = string(tool["description"], f"{param}.description")
    function["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
    if tool.get("strict") is not None:  # the Response shows OpenAI's default; not sent on
        function["strict"] = bool(tool["strict"])
    return {"type": "function", "function": function}


def _filters(value: Any, param: str) -> JSON:
    """Attribute filters as vector_stores.search takes them, or a 400 naming them."""
    try:
        checked = _FILTER.validate_python(value)
    except ValidationError as exc:
        raise invalid(f"Invalid '{param}': {exc.errors()[0]['msg']}.", param) from None
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
                raise invalid(
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
                raise invalid(
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
            raise invalid(
                f"Tool '{kind}' is not supported by this server: it has no {_UNRUNNABLE[kind]}.",
                f"{param}.type",
                "unsupported_tool",
            )
        else:
            raise invalid(
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
            raise invalid(
                f"Invalid value: '{choice}'. Supported values are: 'none', 'auto' and 'required'.",
                "tool_choice",
            )
        return choice
    kind = choice.get("type")
    if kind == "function":
        name = string(choice.get("name"), "tool_choice.name")
        return {"type": "function", "function": {"name": name}}
    if kind in ("file_search", "code_interpreter"):
        return {"type": kind}
    if kind == "allowed_tools":
        mode = choice.get("mode") or "auto"
        if mode not in ("auto", "required"):
            raise invalid(f"Invalid value: '{mode}'.", "tool_choice.mode")
        return str(mode)
    raise invalid(f"Invalid value for 'tool_choice.type': '{kind}'.", "tool_choice.type")
