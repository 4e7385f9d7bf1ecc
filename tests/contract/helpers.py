"""Assertions shared by the contract tests."""

from __future__ import annotations

from typing import Any

import openai


def error_body(exc: openai.APIStatusError) -> dict[str, Any]:
    """The `error` object of an SDK exception, checked to have OpenAI's four keys."""
    body = exc.body
    assert isinstance(body, dict), body
    assert set(body) == {"message", "type", "param", "code"}, body
    return body
