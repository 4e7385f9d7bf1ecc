"""POST /v1/chat/completions: one model call through the same providers and routes as
runs, answered whole or streamed as `chat.completion.chunk`s.

Nothing is stored. The model runs where runs' models do (the embedded model in its own
process, an upstream over HTTP), so the API process only relays; the tokens used count
against the project's limit and in `/metrics`, as a run's do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from assistantd import clock
from assistantd.errors import APIError, InvalidRequest, ModelFailed, RateLimited
from assistantd.ids import IdKind, new_id
from assistantd.protocol.chat import ChatCompletionCreate
from assistantd.providers.base import (
    ChatRequest,
    Finish,
    Provider,
    ProviderError,
    ProviderEvent,
    Providers,
    TextDelta,
    ToolCallDelta,
    Usage,
)

__all__ = ["ChatCompletions", "Completion", "provider_failure"]

# (project, model, prompt tokens, completion tokens): the container's usage hook.
UsageHook = Callable[[str, str, int, int], Awaitable[None]]

# Fields this server cannot honour when set: the param, and what is refused.
_REFUSED: dict[str, Callable[[ChatCompletionCreate], bool]] = {
    "n": lambda r: (r.n or 1) > 1,
    "stop": lambda r: bool(r.stop),
    "logprobs": lambda r: bool(r.logprobs),
    "audio": lambda r: r.audio is not None,
    "modalities": lambda r: bool(r.modalities) and r.modalities != ["text"],
    "prediction": lambda r: r.prediction is not None,
    "web_search_options": lambda r: r.web_search_options is not None,
    "functions": lambda r: bool(r.functions),
    "function_call": lambda r: r.function_call is not None,
}


def provider_failure(error: ProviderError) -> APIError:
    """A provider's failure as the HTTP answer a model endpoint gives."""
    if error.code == "rate_limit_exceeded":
        return RateLimited(error.message, kind="tokens", headers={"retry-after": "1"})
    if error.code == "invalid_prompt":
        return InvalidRequest(error.message, code="invalid_prompt")
    return ModelFailed(error.message)


def _check(req: ChatCompletionCreate) -> None:
    for param, refused in _REFUSED.items():
        if refused(req):
            raise InvalidRequest(
                f"'{param}' is not supported by this server; leave it unset.",
                param=param,
                code="unsupported_parameter",
            )


def _request(req: ChatCompletionCreate) -> ChatRequest:
    tools = [t.model_dump(exclude_none=True) for t in req.tools or []]
    fmt = req.response_format
    return ChatRequest(
        model=req.model,
        messages=req.messages,
        tools=tools,
        tool_choice=req.tool_choice if tools else None,
        parallel_tool_calls=req.parallel_tool_calls is not False,
        response_format=fmt if fmt and fmt.get("type") != "text" else None,
        temperature=req.temperature,
        top_p=req.top_p,
        max_tokens=req.max_completion_tokens or req.max_tokens,
        reasoning_effort=req.reasoning_effort,
    )


@dataclass
class Completion:
    """What the model said, gathered as it streams."""

    id: str
    model: str
    created: int
    text: str = ""
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def take(self, event: ProviderEvent) -> dict[str, Any] | None:
        """Record the event; the chunk's `delta` that shows it, if any."""
        if isinstance(event, TextDelta):
            self.text += event.text
            return {"content": event.text}
        if isinstance(event, ToolCallDelta):
            call = self.calls.get(event.index)
            if call is None:
                call_id = event.id if event.id and event.id.startswith("call_") else None
                call = self.calls[event.index] = {
                    "id": call_id or new_id(IdKind.tool_call),
                    "type": "function",
                    "function": {"name": event.name or "", "arguments": ""},
                }
                call["function"]["arguments"] += event.arguments
                return {"tool_calls": [{"index": event.index, **call}]}
            call["function"]["arguments"] += event.arguments
            piece = {"index": event.index, "function": {"arguments": event.arguments}}
            return {"tool_calls": [piece]}
        if isinstance(event, Usage):
            self.prompt_tokens, self.completion_tokens = (
                event.prompt_tokens,
                event.completion_tokens,
            )
        elif isinstance(event, Finish):
            self.finish = "tool_calls" if self.calls else event.reason
        return None

    def message(self) -> dict[str, Any]:
        tool_calls = [self.calls[i] for i in sorted(self.calls)] or None
        return {
            "role": "assistant",
            "content": self.text if self.text or not tool_calls else None,
            "refusal": None,
            "annotations": [],
            **({"tool_calls": tool_calls} if tool_calls else {}),
        }

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return orjson.dumps(self._head("chat.completion.chunk") | {"choices": [choice]})

    def _head(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
        }

    def whole(self) -> bytes:
        choice = {
            "index": 0,
            "message": self.message(),
            "logprobs": None,
            "finish_reason": self.finish,
        }
        body = self._head("chat.completion") | {"choices": [choice], "usage": self.usage()}
        return orjson.dumps(body)


class ChatCompletions:
    def __init__(self, providers: Providers, on_usage: UsageHook | None = None) -> None:
        self.providers = providers
        self.on_usage = on_usage

    async def _open(
        self, req: ChatCompletionCreate
    ) -> tuple[Provider, ChatRequest, Completion, AsyncIterator[ProviderEvent]]:
        """The provider's stream, its first event already read (and replayed), so that a
        model that fails at once is an HTTP error, not a broken stream."""
        _check(req)
        try:
            provider = self.providers.for_model(req.model)
            request = _request(req)
            events = aiter(provider.stream(request))
            first = await anext(events, None)
        except ProviderError as error:
            raise provider_failure(error) from None
        done = Completion(new_id(IdKind.chat_completion), req.model, clock.now())
        return provider, request, done, _replayed(first, events)

    async def _settle(
        self, project: str, provider: Provider, request: ChatRequest, done: Completion
    ) -> None:
        """Usage as the provider reported it, or estimated as runs estimate it; then
        counted against the project and in the metrics."""
        if not done.prompt_tokens:
            count = provider.count_tokens
            if provider.counts_cheaply:
                done.prompt_tokens = count(request.messages)
            else:  # a real tokenizer takes milliseconds: off the event loop
                done.prompt_tokens = await asyncio.to_thread(count, request.messages)
        if not done.completion_tokens:
            pieces = [done.text, *(c["function"]["arguments"] for c in done.calls.values())]
            done.completion_tokens = sum(len(p) for p in pieces) // 4
        if self.on_usage is not None:
            await self.on_usage(project, request.model, done.prompt_tokens, done.completion_tokens)

    async def create(self, project: str, req: ChatCompletionCreate) -> bytes:
        provider, request, done, events = await self._open(req)
        try:
            async for event in events:
                done.take(event)
        except ProviderError as error:
            raise provider_failure(error) from None
        await self._settle(project, provider, request, done)
        return done.whole()

    async def stream(self, project: str, req: ChatCompletionCreate) -> AsyncIterator[bytes]:
        """The SSE body (`data:` lines, then `data: [DONE]`); opened before it is
        returned, so that a model failing at once is an HTTP error."""
        provider, request, done, events = await self._open(req)
        usage = bool(req.stream_options and req.stream_options.include_usage)

        async def body() -> AsyncIterator[bytes]:
            yield _data(done.chunk({"role": "assistant", "content": "", "refusal": None}))
            try:
                async for event in events:
                    if (delta := done.take(event)) is not None:
                        yield _data(done.chunk(delta))
            except ProviderError as error:
                yield _data(provider_failure(error).body())
                return
            yield _data(done.chunk({}, done.finish))
            await self._settle(project, provider, request, done)
            if usage:
                tail = orjson.loads(done.chunk({})) | {"choices": [], "usage": done.usage()}
                yield _data(orjson.dumps(tail))
            yield b"data: [DONE]\n\n"

        return body()


async def _replayed(
    first: ProviderEvent | None, rest: AsyncIterator[ProviderEvent]
) -> AsyncIterator[ProviderEvent]:
    if first is None:
        return
    yield first
    async for event in rest:
        yield event


def _data(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"
