"""The Provider interface: a chat request in, a stream of small events out.

    async for event in provider.stream(request):
        match event:
            case TextDelta(text=...): ...
            case ToolCallDelta(index=..., id=..., name=..., arguments=...): ...
            case Usage(...): ...
            case Finish(reason=...): ...

Providers translate their own failures into `ProviderError` at this boundary, so
the engine turns any of them into a run's `last_error` the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "GRAMMAR_MAX_LENGTH",
    "ChatRequest",
    "Finish",
    "Provider",
    "ProviderError",
    "ProviderEvent",
    "Providers",
    "TextDelta",
    "ToolCallDelta",
    "Usage",
    "without_hints",
]


# A hint in a tool's JSON schema: the longest string the embedded model may write there
# (its grammar needs a bound). Only the embedded model reads it; every other provider
# sends the schema without it (`without_hints`), so no upstream model is held to a limit
# that exists for a 135M model's grammar.
GRAMMAR_MAX_LENGTH = "x-grammar-max-length"


def without_hints(schema: Any) -> Any:
    """`schema` without `GRAMMAR_MAX_LENGTH` hints, at any depth (the input is unchanged)."""
    if isinstance(schema, dict):
        return {k: without_hints(v) for k, v in schema.items() if k != GRAMMAR_MAX_LENGTH}
    if isinstance(schema, list):
        return [without_hints(v) for v in schema]
    return schema


@dataclass(frozen=True)
class ChatRequest:
    """A chat completion request, in OpenAI's shapes (messages, tools, tool_choice...)."""

    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    response_format: dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    reasoning_effort: str | None = None


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of one tool call; `id` and `name` come with its first piece only."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Finish:
    reason: Literal["stop", "length", "tool_calls", "content_filter"]


ProviderEvent = TextDelta | ToolCallDelta | Usage | Finish


class ProviderError(Exception):
    """A model call failed; `code` is what the run's `last_error.code` becomes."""

    def __init__(
        self,
        message: str,
        *,
        code: Literal["server_error", "rate_limit_exceeded", "invalid_prompt"] = "server_error",
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


class Provider(Protocol):
    context_window: int
    # Whether image parts (`image_url` with a `data:` URL) reach the model; a text-only
    # model is sent a placeholder for each image instead.
    accepts_images: bool
    # Writes the citation markers it is shown (a capable model); a model that does not
    # gets the best search result cited at the end of its answer instead.
    cites_sources: bool
    # Whether count_tokens is a cheap estimate (characters / 4), fine on the event
    # loop; a real tokenizer is run in a thread instead.
    counts_cheaply: bool

    def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        """Generate a reply, event by event. Raises ProviderError."""
        ...

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Tokens these messages take in a prompt (exact or a documented estimate).

        May take milliseconds (a real tokenizer): unless `counts_cheaply`, callers run
        it off the event loop."""
        ...

    async def aclose(self) -> None:
        """Release connections and processes (the registry calls it at shutdown)."""
        ...


class Providers(Protocol):
    """Model name → the Provider that serves it (providers/registry.py)."""

    def for_model(self, model: str) -> Provider:
        """Raises ProviderError when the model's route is misconfigured."""
        ...
