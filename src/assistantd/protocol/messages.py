"""Message requests (MessageCreate, MessageUpdate) and their content parts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from assistantd.protocol.common import Metadata, RequestModel

__all__ = [
    "Attachment",
    "ContentPart",
    "ImageFilePart",
    "ImageUrlPart",
    "MessageCreate",
    "MessageUpdate",
    "TextPart",
]

Detail = Literal["auto", "low", "high"]


class TextPart(RequestModel):
    type: Literal["text"]
    text: str = Field(min_length=1)


class ImageFile(RequestModel):
    file_id: str = Field(min_length=1)
    detail: Detail = "auto"


class ImageFilePart(RequestModel):
    type: Literal["image_file"]
    image_file: ImageFile


class ImageUrl(RequestModel):
    url: str = Field(min_length=1, max_length=65_536)
    detail: Detail = "auto"


class ImageUrlPart(RequestModel):
    type: Literal["image_url"]
    image_url: ImageUrl


ContentPart = Annotated[TextPart | ImageFilePart | ImageUrlPart, Field(discriminator="type")]


class AttachmentTool(RequestModel):
    type: Literal["code_interpreter", "file_search"]


class Attachment(RequestModel):
    file_id: str = Field(min_length=1)
    tools: list[AttachmentTool] = Field(default_factory=list)


class MessageCreate(RequestModel):
    role: Literal["user", "assistant"]
    content: Annotated[str, Field(min_length=1)] | Annotated[list[ContentPart], Field(min_length=1)]
    attachments: list[Attachment] | None = None
    metadata: Metadata = None


class MessageUpdate(RequestModel):
    metadata: Metadata = None
