"""Provider helpers: bounded JSON schemas for grammars, and the upstream token estimate."""

from __future__ import annotations

from assistantd.providers.base import GRAMMAR_MAX_LENGTH, without_hints
from assistantd.providers.embedded import bounded
from assistantd.providers.openai_compatible import estimate_tokens


def test_bounded_limits_every_free_string_and_array() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}},
        },
    }
    out = bounded(schema)
    assert out["properties"]["name"]["maxLength"] == 64
    assert "maxLength" not in out["properties"]["unit"]  # an enum is already bounded
    assert out["properties"]["tags"]["maxItems"] == 8
    assert out["properties"]["tags"]["items"]["maxLength"] == 5  # given limits are kept
    assert "maxLength" not in schema["properties"]["name"]  # the input is not changed


def test_estimate_grows_with_text_and_messages() -> None:
    one = estimate_tokens([{"role": "user", "content": "hello"}])
    longer = estimate_tokens([{"role": "user", "content": "hello " * 100}])
    two = estimate_tokens([{"role": "user", "content": "hello"}] * 2)
    assert 0 < one < longer
    assert two > one
    assert 140 <= longer <= 200  # about 4 characters a token


def test_grammar_hints_bound_the_embedded_model_only() -> None:
    schema = {
        "type": "object",
        "properties": {
            "code": {"type": "string", GRAMMAR_MAX_LENGTH: 300},
            "short": {"type": "string", "maxLength": 10, GRAMMAR_MAX_LENGTH: 300},
        },
    }
    embedded = bounded(schema)
    assert embedded["properties"]["code"]["maxLength"] == 300
    assert embedded["properties"]["short"]["maxLength"] == 10  # the schema's own is kept
    assert GRAMMAR_MAX_LENGTH not in str(embedded)
    upstream = without_hints([{"type": "function", "function": {"parameters": schema}}])
    code = upstream[0]["function"]["parameters"]["properties"]["code"]
    assert code == {"type": "string"}
    assert GRAMMAR_MAX_LENGTH in schema["properties"]["code"]  # the input is not changed
