"""Where requests name Files and vector stores: collected with the `param` a 400 should
point at."""

from __future__ import annotations

from assistantd.protocol.messages import ImageFilePart, MessageCreate
from assistantd.protocol.tools import ToolResources

__all__ = ["FileRef", "message_refs", "resource_refs", "store_refs"]

FileRef = tuple[str, str]  # (file id, param)


def message_refs(req: MessageCreate, prefix: str = "") -> list[FileRef]:
    refs: list[FileRef] = []
    if not isinstance(req.content, str):
        for i, part in enumerate(req.content):
            if isinstance(part, ImageFilePart):
                refs.append((part.image_file.file_id, f"{prefix}content[{i}].image_file.file_id"))
    for i, attachment in enumerate(req.attachments or []):
        refs.append((attachment.file_id, f"{prefix}attachments[{i}].file_id"))
    return refs


def resource_refs(resources: ToolResources | None, prefix: str = "tool_resources") -> list[FileRef]:
    if resources is None or resources.code_interpreter is None:
        return []
    return [
        (file_id, f"{prefix}.code_interpreter.file_ids[{i}]")
        for i, file_id in enumerate(resources.code_interpreter.file_ids)
    ]


def store_refs(resources: ToolResources | None, prefix: str = "tool_resources") -> list[FileRef]:
    """(vector store id, param) of each store `file_search.vector_store_ids` names."""
    if resources is None or resources.file_search is None:
        return []
    return [
        (store_id, f"{prefix}.file_search.vector_store_ids[{i}]")
        for i, store_id in enumerate(resources.file_search.vector_store_ids or [])
    ]
