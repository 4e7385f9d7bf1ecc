"""Assertions and fixtures' data shared by the contract tests."""

from __future__ import annotations

from typing import Any

import openai

# A function tool as the Responses API takes it, and the same as an assistant's tool.
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
WEATHER_ASSISTANT_TOOL = {
    "type": "function",
    "function": {k: v for k, v in WEATHER.items() if k != "type"},
}


def error_body(exc: openai.APIStatusError) -> dict[str, Any]:
    """The `error` object of an SDK exception, checked to have OpenAI's four keys."""
    body = exc.body
    assert isinstance(body, dict), body
    assert set(body) == {"message", "type", "param", "code"}, body
    return body
