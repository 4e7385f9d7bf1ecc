"""Requests of the model endpoints: chat completions and embeddings.

Fields the spec defines are all accepted (OpenAI refused unknown ones, and so do we).
Those a provider here cannot honour are refused by name when set to something that
would change the answer (`n` > 1, `stop`, `logprobs`, audio, web search, predicted
outputs, the legacy `functions`), and ignored when they only tune sampling or bookkeeping
(`seed`, penalties, `logit_bias`, `user`, `store`, `metadata`, `service_tier`, caching
hints): docs/model-endpoints.md lists which is which.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from assistantd.protocol.common import RequestModel
from assistantd.protocol.tools import FunctionDefinition

__all__ = [
    "EMBEDDING_MAX_INPUTS",
    "ChatCompletionCreate",
    "ChatTool",
    "EmbeddingCreate",
    "StreamOptions",
]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# OpenAI's limits for one embeddings request (its spec's prose).
EMBEDDING_MAX_INPUTS = 2048


class ChatTool(RequestModel):
    type: Literal["function"]
    function: FunctionDefinition


class StreamOptions(RequestModel):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class ChatCompletionCreate(RequestModel):
    model: str = Field(min_length=1)
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[ChatTool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    reasoning_effort: str | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    # Refused when set to what this server cannot do (services/completions.py).
    n: int | None = Field(default=None, ge=1, le=128)
    stop: str | list[str] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    audio: dict[str, Any] | None = None
    modalities: list[str] | None = None
    prediction: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None
    # Accepted and ignored: sampling tweaks and bookkeeping no provider here takes.
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, int] | None = None
    seed: int | None = None
    user: str | None = None
    safety_identifier: str | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    service_tier: str | None = None
    verbosity: str | None = None
    moderation: dict[str, Any] | None = None
    prompt_cache_key: str | None = None
    prompt_cache_options: dict[str, Any] | None = None
    prompt_cache_retention: str | None = None

    @field_validator("messages")
    @classmethod
    def _roles(cls, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, message in enumerate(messages):
            role = message.get("role")
            if not isinstance(role, str) or role not in _ROLES:
                raise ValueError(
                    f"Invalid value for 'messages[{i}].role': '{role}'. Supported values are: "
                    + ", ".join(f"'{r}'" for r in sorted(_ROLES))
                    + "."
                )
            content = message.get("content")
            parts_ok = isinstance(content, list) and all(isinstance(p, dict) for p in content)
            if content is not None and not isinstance(content, str) and not parts_ok:
                raise ValueError(
                    f"Invalid type for 'messages[{i}].content': expected a string, an array "
                    "of content parts or null."
                )
            calls = message.get("tool_calls")
            if calls is not None and not (
                isinstance(calls, list) and all(isinstance(c, dict) for c in calls)
            ):
                raise ValueError(f"Invalid type for 'messages[{i}].tool_calls': expected an array.")
        return messages


class EmbeddingCreate(RequestModel):
    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None
