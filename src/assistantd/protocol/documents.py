"""The other stored documents, as mypy-checked TypedDicts: Assistant, Thread, File,
VectorStore, VectorStoreFile, VectorStoreFileBatch, Upload.

Each is the response object exactly as stored and served (key order is OpenAI's; the
builders in services/ write them in that order). Run, RunStep, Message and a run's
private state are in objects.py. Keys the spec marks optional and not nullable are
`NotRequired`: the document leaves them out rather than send null.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from assistantd.protocol.objects import ErrorInfo

__all__ = [
    "AssistantDoc",
    "FileCounts",
    "FileDoc",
    "FileBatchDoc",
    "ThreadDoc",
    "UploadDoc",
    "VectorStoreDoc",
    "VectorStoreFileDoc",
]


class AssistantDoc(TypedDict):
    id: str
    object: Literal["assistant"]
    created_at: int
    name: str | None
    description: str | None
    model: str
    instructions: str | None
    tools: list[dict[str, Any]]
    tool_resources: dict[str, Any]  # {} when none were given, as OpenAI answered
    metadata: dict[str, str]
    top_p: float | None
    temperature: float | None
    response_format: str | dict[str, Any]


class ThreadDoc(TypedDict):
    id: str
    object: Literal["thread"]
    created_at: int
    metadata: dict[str, str]
    tool_resources: dict[str, Any]  # {} when none were given, as OpenAI answered


class FileDoc(TypedDict):
    id: str
    object: Literal["file"]
    bytes: int
    created_at: int
    expires_at: NotRequired[int]
    filename: str
    purpose: str
    status: str


class FileCounts(TypedDict):
    in_progress: int
    completed: int
    failed: int
    cancelled: int
    total: int


class VectorStoreDoc(TypedDict):
    id: str
    object: Literal["vector_store"]
    created_at: int
    name: str | None
    description: NotRequired[str | None]
    usage_bytes: int
    file_counts: FileCounts
    status: Literal["in_progress", "completed", "expired"]
    expires_after: NotRequired[dict[str, Any] | None]
    expires_at: int | None
    last_active_at: int
    metadata: dict[str, str]


class VectorStoreFileDoc(TypedDict):
    id: str
    object: Literal["vector_store.file"]
    usage_bytes: int
    created_at: int
    vector_store_id: str
    status: str
    last_error: ErrorInfo | None
    chunking_strategy: dict[str, Any]
    attributes: dict[str, Any]


class FileBatchDoc(TypedDict):
    id: str
    object: Literal["vector_store.files_batch"]
    created_at: int
    vector_store_id: str
    status: str
    file_counts: FileCounts


class UploadDoc(TypedDict):
    id: str
    object: Literal["upload"]
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["pending", "completed", "cancelled", "expired"]
    expires_at: int
    file: FileDoc | None
