"""The embedded model's child process: a rejected grammar fails one request, not the process."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistantd.providers.base import ChatRequest, ProviderError, TextDelta
from assistantd.providers.embedded import EmbeddedProvider

HOSTILE = {"type": "string", "pattern": "^a{1,5000}$"}


async def test_a_rejected_grammar_fails_the_request_and_the_process_lives_on() -> None:
    provider = EmbeddedProvider(context_window=1024)
    try:
        hostile = ChatRequest(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": HOSTILE},
            },
            max_tokens=8,
        )
        with pytest.raises(ProviderError, match="too large for the embedded model"):
            async for _ in provider.stream(hostile):
                pass
        pid = provider._generator().pid
        assert pid is not None
        plain = ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=8)
        events = [event async for event in provider.stream(plain)]
        assert any(isinstance(e, TextDelta) for e in events)
        assert provider._generator().pid == pid  # the same child: it never crashed
    finally:
        await provider.aclose()


async def test_schema_problems_are_judged_by_llama_cpp() -> None:
    provider = EmbeddedProvider(context_window=1024)
    try:
        assert await provider.schema_problem(HOSTILE) is not None
        assert await provider.schema_problem({"type": "object"}) is None
        # A maxLength past what llama.cpp takes is lowered, not refused.
        long = {"type": "string", "maxLength": 2000}
        assert await provider.schema_problem(long) is None
    finally:
        await provider.aclose()


async def test_a_model_that_cannot_load_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model at all")
    provider = EmbeddedProvider(broken, context_window=512)
    try:
        plain = ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=4)
        with pytest.raises(ProviderError, match="could not start"):
            async for _ in provider.stream(plain):
                pass
    finally:
        await provider.aclose()
