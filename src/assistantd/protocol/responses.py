"""Requests of the Responses API: create a response, count its input tokens.

Every field of the spec's CreateResponse is accepted (OpenAI refused unknown ones, and
so do we). `input` items and `tools` are checked item by item in
`services/response_input.py` and `response_tools.py`, where a 400 can name the exact
path (`input[2].call_id`) and a tool this server cannot run is refused by name.
docs/responses.md lists which fields are honoured, passed on, or only echoed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from assistantd.protocol.common import Metadata, RequestModel

__all__ = [
    "RESPONSE_INCLUDABLE",
    "InputTokensCreate",
    "ResponseCreate",
]

# The `include[]` values a response may ask for. Those this server has nothing for
# (images it never stores, reasoning it never encrypts) are accepted and add nothing.
RESPONSE_INCLUDABLE = frozenset(
    {
        "file_search_call.results",
        "code_interpreter_call.outputs",
        "message.output_text.logprobs",
        "message.input_image.image_url",
        "computer_call_output.output.image_url",
        "reasoning.encrypted_content",
        "web_search_call.action.sources",
        "web_search_call.results",
    }
)


class _ResponseFields(RequestModel):
    """What createResponse and input_tokens share."""

    model: str | None = Field(default=None, min_length=1)
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    truncation: Literal["auto", "disabled"] | None = None


class ResponseCreate(_ResponseFields):
    store: bool | None = None
    background: bool | None = None
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    include: list[str] | None = None
    metadata: Metadata = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    max_tool_calls: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    prompt: dict[str, Any] | None = None
    context_management: list[dict[str, Any]] | None = None
    # Accepted and echoed: bookkeeping no provider here takes.
    user: str | None = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: dict[str, Any] | None = None
    moderation: dict[str, Any] | None = None


class InputTokensCreate(_ResponseFields):
    pass
