"""A scripted provider: replies played from a queue, in process, for tests and demos.

It is a whole Provider (docs/providers.md uses it as the example of adding one): the
engine cannot tell it from a model. Each `stream` call takes the next `Scripted` reply
and records the request, so a test can assert what the engine sent, without HTTP or a
model: `Container.build(settings, providers={"scripted*": ScriptedProvider()})`.
A request with nothing scripted fails as an upstream would (a ProviderError).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from assistantd.providers.base import (
    ChatRequest,
    Finish,
    ProviderError,
    ProviderEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from assistantd.providers.openai_compatible import estimate_tokens

__all__ = ["Scripted", "ScriptedProvider"]


@dataclass(frozen=True)
class Scripted:
    """One reply: text, then tool calls (name, arguments), each streamed in small pieces."""

    text: str = ""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    finish: Literal["stop", "length", "tool_calls", "content_filter"] | None = None
    usage: tuple[int, int] | None = (11, 7)
    delay_s: float = 0.0  # before each piece, to leave room for a cancel
    error: str | None = None  # fail with this ProviderError instead


def _pieces(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class ScriptedProvider:
    accepts_images = False
    counts_cheaply = True

    def __init__(self, *, cites_sources: bool = True, context_window: int = 4096) -> None:
        self.cites_sources = cites_sources
        self.context_window = context_window
        self.replies: deque[Scripted] = deque()
        self.requests: list[ChatRequest] = []

    def script(self, *replies: Scripted) -> None:
        self.replies.extend(replies)

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        return estimate_tokens(messages)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        self.requests.append(request)
        if not self.replies:
            raise ProviderError("Nothing was scripted for this request.")
        reply = self.replies.popleft()
        if reply.error is not None:
            raise ProviderError(reply.error)
        for piece in _pieces(reply.text):
            await asyncio.sleep(reply.delay_s)
            yield TextDelta(piece)
        for index, (name, arguments) in enumerate(reply.tool_calls):
            yield ToolCallDelta(index, id=f"scripted_{index}", name=name)
            for piece in _pieces(arguments, 5):
                await asyncio.sleep(reply.delay_s)
                yield ToolCallDelta(index, arguments=piece)
        if reply.usage is not None:
            yield Usage(*reply.usage)
        yield Finish(reply.finish or ("tool_calls" if reply.tool_calls else "stop"))

    async def aclose(self) -> None:
        return None
