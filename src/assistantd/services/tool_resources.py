"""Checks on tool_resources shared by assistants and threads."""

from __future__ import annotations

from typing import Any

from assistantd.errors import InvalidRequest
from assistantd.protocol.tools import ToolResources
from assistantd.services.documents import dump

__all__ = ["render_tool_resources"]


def render_tool_resources(resources: ToolResources | None, param: str) -> dict[str, Any]:
    """tool_resources as stored and returned; `{}` when none were given, as OpenAI did."""
    if resources is None:
        return {}
    if resources.file_search is not None and resources.file_search.vector_stores:
        # Needs vector stores, which this server does not implement yet.
        raise InvalidRequest(
            "Creating vector stores through 'tool_resources.file_search.vector_stores' "
            "is not supported by this server yet; pass 'vector_store_ids' instead.",
            param=f"{param}.file_search.vector_stores",
            code="unsupported_parameter",
        )
    return dump(resources)
