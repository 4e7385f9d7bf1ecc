"""Any `/v1/chat/completions` server: OpenAI, vLLM, Ollama, llama.cpp server, LM Studio, ...

Streams with `stream_options.include_usage`, retries 429s, 5xx answers and transport
failures with exponential backoff (only before the first token: after it, a retry
would repeat text the run already has), and maps what is left to ProviderError.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from assistantd.providers.base import (
    ChatRequest,
    Finish,
    ProviderError,
    ProviderEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
    without_hints,
)

__all__ = ["OpenAICompatibleProvider", "estimate_tokens"]

log = logging.getLogger(__name__)
_DRAIN_S = 1.0  # how long the body's end may take after [DONE]
_FINISH = {"stop", "length", "tool_calls", "content_filter"}


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """About 4 characters a token plus 4 a message: OpenAI's rule of thumb for English.

    Upstream tokenizers differ by model; an estimate on the high side keeps prompts
    inside the context window, and the upstream's own usage is what runs report.
    """
    total = 3
    for message in messages:
        total += 4 + len(orjson.dumps(message)) // 4
    return total


class OpenAICompatibleProvider:
    cites_sources = True
    accepts_images = True
    counts_cheaply = True  # an estimate: a thread hop would cost more than counting

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        upstream_model: str | None = None,
        context_window: int = 8192,
        timeout_s: float = 60.0,
        max_retries: int = 2,
        backoff_s: float = 0.5,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.upstream_model = upstream_model
        self.context_window = context_window
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            # httpx keeps 20 idle connections by default: past 20 runs at once, every
            # model call opened a new TCP connection (3% of a loaded server's CPU).
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=256),
        )

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        return estimate_tokens(messages)

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.upstream_model or request.model,
            "messages": request.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            body["tools"] = without_hints(request.tools)
            body["parallel_tool_calls"] = request.parallel_tool_calls
            if request.tool_choice is not None:
                body["tool_choice"] = request.tool_choice
        optional = {
            "response_format": request.response_format,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
            "reasoning_effort": request.reasoning_effort,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    async def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        body = orjson.dumps(self._body(request))
        url = f"{self.base_url}/chat/completions"
        started = False  # once a token is out, a retry would repeat it: fail instead
        for attempt in range(self.max_retries + 1):
            try:
                async with self._client.stream(
                    "POST", url, content=body, headers={"content-type": "application/json"}
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise _status_error(response)
                    async for event in _events(response):
                        started = True
                        yield event
                    return
            except ProviderError as error:
                if started or not error.retryable or attempt == self.max_retries:
                    raise
                delay = self.backoff_s * 2**attempt
                log.warning("upstream %s: %s; retrying in %.1fs", url, error.message, delay)
                await asyncio.sleep(delay)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if started:
                    raise ProviderError(
                        "The connection to the model server broke in the middle of its answer: "
                        f"{type(exc).__name__}.",
                        code="server_error",
                    ) from exc
                if attempt == self.max_retries:
                    raise ProviderError(
                        f"The model server did not answer: {type(exc).__name__}.",
                        code="server_error",
                    ) from exc
                await asyncio.sleep(self.backoff_s * 2**attempt)

    async def aclose(self) -> None:
        await self._client.aclose()


def _status_error(response: httpx.Response) -> ProviderError:
    try:
        detail = response.json()["error"]["message"]
    except Exception:  # not OpenAI's error shape: show what came
        detail = response.text[:200]
    status = response.status_code
    if status == 429:
        return ProviderError(
            f"Rate limited by the model server: {detail}",
            code="rate_limit_exceeded",
            retryable=True,
        )
    if status >= 500:
        return ProviderError(
            f"The model server failed ({status}): {detail}", code="server_error", retryable=True
        )
    return ProviderError(
        f"The model server refused the request ({status}): {detail}", code="invalid_prompt"
    )


async def _events(response: httpx.Response) -> AsyncIterator[ProviderEvent]:
    """Server-sent chat.completion.chunk events → provider events."""
    lines = response.aiter_lines()
    async for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            # Read to the body's end, so the connection goes back to the pool: a body
            # left unread closes it, and every model call paid a new TCP connection.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_DRAIN_S):
                    async for _ in lines:
                        pass
            return
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ProviderError("The model server sent a malformed chunk.") from exc
        if chunk.get("error"):
            raise ProviderError(f"The model server failed mid-answer: {chunk['error']}")
        usage = chunk.get("usage")
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                yield TextDelta(delta["content"])
            for call in delta.get("tool_calls") or []:
                function = call.get("function") or {}
                yield ToolCallDelta(
                    index=call.get("index", 0),
                    id=call.get("id"),
                    name=function.get("name"),
                    arguments=function.get("arguments") or "",
                )
            if choice.get("finish_reason") in _FINISH:
                yield Finish(choice["finish_reason"])
        if usage:
            yield Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
