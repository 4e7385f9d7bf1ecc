"""Assistant requests (AssistantCreate, AssistantUpdate), per the spec's schemas."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from assistantd.protocol.common import Metadata, RequestModel
from assistantd.protocol.tools import AssistantTool, ResponseFormat, ToolResources

__all__ = ["AssistantCreate", "AssistantUpdate", "ReasoningEffort"]

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class AssistantCreate(RequestModel):
    model: str = Field(min_length=1, max_length=256)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    reasoning_effort: ReasoningEffort | None = None
    tools: list[AssistantTool] = Field(default_factory=list, max_length=128)
    tool_resources: ToolResources | None = None
    metadata: Metadata = None
    temperature: float | None = Field(default=1.0, ge=0, le=2)
    top_p: float | None = Field(default=1.0, ge=0, le=1)
    response_format: ResponseFormat | None = "auto"


class AssistantUpdate(RequestModel):
    """Only the fields the client sent change (`model_fields_set`)."""

    model: str | None = Field(default=None, min_length=1, max_length=256)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    reasoning_effort: ReasoningEffort | None = None
    tools: list[AssistantTool] | None = Field(default=None, max_length=128)
    tool_resources: ToolResources | None = None
    metadata: Metadata = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    response_format: ResponseFormat | None = None
