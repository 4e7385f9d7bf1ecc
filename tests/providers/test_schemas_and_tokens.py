"""Provider helpers: bounded JSON schemas for grammars, and the upstream token estimate."""

from __future__ import annotations

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
