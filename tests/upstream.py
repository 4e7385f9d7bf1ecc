"""A scripted OpenAI-compatible upstream: real HTTP on loopback, replies replayed from a script.

Tests enqueue replies (text, tool calls, errors, delays); every request the server
receives is recorded, so tests can assert exactly what assistantd sent upstream.
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.servers import free_port


@dataclass
class Reply:
    """One scripted answer to one chat-completions request."""

    text: str = ""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)  # (name, arguments)
    finish: str | None = None
    status: int = 200  # an error status answers with OpenAI's error shape instead
    token_delay_s: float = 0.0
    first_delay_s: float = 0.0
    usage: tuple[int, int] | None = (11, 7)
    # Break the connection after this many chunks, as a reset mid-answer would.
    cut_after: int | None = None
    # (n, seconds): fall silent for `seconds` after the first n chunks (a thinking model).
    pause_after: tuple[int, float] | None = None

    def chunks(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "s"}
        for token in _tokens(self.text):
            out.append({**base, "choices": [{"index": 0, "delta": {"content": token}}]})
        for index, (name, arguments) in enumerate(self.tool_calls):
            first = {
                "index": index,
                "id": f"upstream_{index}",
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            out.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [first]}}]})
            for piece in _tokens(arguments, size=5):
                delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                out.append({**base, "choices": [{"index": 0, "delta": delta}]})
        finish = self.finish or ("tool_calls" if self.tool_calls else "stop")
        out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if self.usage:
            prompt, completion = self.usage
            out.append(
                {
                    **base,
                    "choices": [],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },
                }
            )
        return out


def _tokens(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


EMBEDDING_DIMENSIONS = 64


class ScriptedUpstream:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.embedding_requests: list[dict[str, Any]] = []
        self.embedding_status = 200  # anything else: the embeddings endpoint fails so
        self.port = free_port()
        self._server: uvicorn.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def reset(self) -> None:
        self.replies.clear()
        self.requests.clear()
        self.embedding_requests.clear()
        self.embedding_status = 200

    async def _embeddings(self, request: Request) -> Response:
        """A toy embedder over real HTTP: hashed bag of words, 64 dimensions."""
        body = orjson.loads(await request.body())
        self.embedding_requests.append(body)
        if self.embedding_status != 200:
            return JSONResponse(
                {"error": {"message": "scripted"}}, status_code=self.embedding_status
            )
        data = []
        for index, text in enumerate(body["input"]):
            vector = [0.0] * EMBEDDING_DIMENSIONS
            for word in text.lower().split():
                vector[zlib.crc32(word.strip(".,?!").encode()) % EMBEDDING_DIMENSIONS] += 1.0
            data.append({"object": "embedding", "index": index, "embedding": vector})
        return JSONResponse({"object": "list", "data": data, "model": body["model"]})

    async def _chat(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        self.requests.append(body)
        reply = self.replies.popleft() if self.replies else Reply(text="(no script)")
        if reply.first_delay_s:
            await asyncio.sleep(reply.first_delay_s)
        if reply.status != 200:
            error = {
                "error": {
                    "message": f"scripted {reply.status}",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }
            return JSONResponse(error, status_code=reply.status)

        async def events() -> AsyncIterator[bytes]:
            for sent, chunk in enumerate(reply.chunks()):
                if reply.cut_after is not None and sent >= reply.cut_after:
                    # Raising after the headers makes uvicorn drop the connection without
                    # ending the chunked body: the client sees a transport error.
                    raise ConnectionResetError("scripted cut")
                if reply.token_delay_s:
                    await asyncio.sleep(reply.token_delay_s)
                if reply.pause_after is not None and sent == reply.pause_after[0]:
                    await asyncio.sleep(reply.pause_after[1])
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            ]
        )

    @contextmanager
    def running(self) -> Iterator[ScriptedUpstream]:
        config = uvicorn.Config(self.app(), port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        thread = threading.Thread(target=self._server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            yield self
        finally:
            self._server.should_exit = True
            thread.join(timeout=10)


def route_env(upstream: ScriptedUpstream, **overrides: Any) -> dict[str, str]:
    """Server env that sends models named `scripted*` to this upstream; `tiny*` too, with
    a context window of 1,400 tokens (for truncation tests); and `upstream-exact`, under
    another name upstream."""
    route = {
        "match": "scripted*",
        "provider": "openai",
        "base_url": upstream.base_url,
        "context_window": 4096,
        "timeout_s": 2,
        "max_retries": 2,
        **overrides,
    }
    tiny = {**route, "match": "tiny*", "context_window": 1400}
    exact = {**route, "match": "upstream-exact", "upstream_model": "scripted-renamed"}
    return {"ASSISTANTD_MODEL_ROUTES": orjson.dumps([route, tiny, exact]).decode()}
