"""Thread requests (ThreadCreate, ThreadUpdate)."""

from __future__ import annotations

from pydantic import Field

from assistantd.protocol.common import Metadata, RequestModel
from assistantd.protocol.messages import MessageCreate
from assistantd.protocol.tools import ToolResources

__all__ = ["ThreadCreate", "ThreadUpdate"]


class ThreadCreate(RequestModel):
    messages: list[MessageCreate] = Field(default_factory=list)
    tool_resources: ToolResources | None = None
    metadata: Metadata = None


class ThreadUpdate(RequestModel):
    tool_resources: ToolResources | None = None
    metadata: Metadata = None
