"""assistantd.api.validation: OpenAI-style 400s from Pydantic errors."""

from __future__ import annotations

import orjson
import pytest

from assistantd.api.validation import param_path, parse_body
from assistantd.errors import InvalidRequest
from assistantd.protocol.assistants import AssistantCreate
from assistantd.protocol.messages import MessageCreate


def test_param_path_drops_union_labels_and_tags() -> None:
    data = {"content": [{"type": "text", "text": ""}]}
    loc = ("content", "list[tagged-union[TextPart,ImageFilePart,ImageUrlPart]]", 0, "text", "text")
    assert param_path(loc, data) == "content[0].text"
    assert param_path(
        ("tools", 0, "function", "function", "name"),
        {"tools": [{"type": "function", "function": {"name": "a b"}}]},
    ) == ("tools[0].function.name")
    assert param_path(("limit",)) == "limit"


def test_missing_nested_key_is_named() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_body(
            MessageCreate, orjson.dumps({"role": "user", "content": [{"type": "image_file"}]})
        )
    assert info.value.param == "content[0].image_file"
    assert info.value.code == "missing_required_parameter"


def test_messages_read_like_openai() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_body(AssistantCreate, b'{"model": "m", "bogus": 1}')
    assert info.value.message == "Unrecognized request argument supplied: bogus"
    with pytest.raises(InvalidRequest) as info:
        parse_body(AssistantCreate, b'{"model": "m", "name": "' + b"x" * 300 + b'"}')
    assert info.value.message == (
        "Invalid 'name': string too long. Expected a string with maximum length 256, "
        "but got a string with length 300 instead."
    )


def test_empty_body_means_empty_object() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_body(AssistantCreate, b"")
    assert info.value.param == "model"
