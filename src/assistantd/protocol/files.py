"""File and Upload requests: CreateFileRequest, CreateUploadRequest, CompleteUploadRequest."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from assistantd.protocol.common import ListParams, RequestModel

__all__ = [
    "FILE_PURPOSES",
    "FileExpiration",
    "FileListParams",
    "UploadComplete",
    "UploadCreate",
]

FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
UploadPurpose = Literal["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]


class FileExpiration(RequestModel):
    anchor: Literal["created_at"]
    seconds: int = Field(ge=3600, le=2_592_000)


class FileListParams(ListParams):
    """`/files` lists up to 10,000 per page, 10,000 by default, and has no `before`."""

    limit: int = Field(default=10_000, ge=1, le=10_000)
    purpose: str | None = None


class UploadCreate(RequestModel):
    filename: str = Field(min_length=1, max_length=1024)
    purpose: UploadPurpose
    bytes: int = Field(ge=0)
    mime_type: str = Field(min_length=1, max_length=255)
    expires_after: FileExpiration | None = None


class UploadComplete(RequestModel):
    part_ids: list[str] = Field(min_length=1)
    md5: str | None = None
