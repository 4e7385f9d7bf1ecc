"""The wire contract's request models: strict like OpenAI's schemas, with the limits
its prose states (docs/contract.md, "Limits and defaults")."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assistantd.protocol.assistants import AssistantCreate
from assistantd.protocol.runs import INCLUDABLE, RunCreate


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        AssistantCreate.model_validate({"model": "m", "nmae": "typo"})


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({f"k{i}": "v" for i in range(17)}, "at most 16 properties"),
        ({"k" * 65: "v"}, "maximum length 64"),
        ({"k": "v" * 513}, "maximum length 512"),
    ],
)
def test_metadata_limits(metadata: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AssistantCreate.model_validate({"model": "m", "metadata": metadata})
    assert AssistantCreate.model_validate({"model": "m", "metadata": {"k": "v"}}).metadata


def test_tools_are_told_apart_by_type() -> None:
    req = AssistantCreate.model_validate(
        {
            "model": "m",
            "tools": [
                {"type": "file_search", "file_search": {"max_num_results": 5}},
                {"type": "code_interpreter"},
                {"type": "function", "function": {"name": "get_weather"}},
            ],
        }
    )
    assert [t.type for t in req.tools] == ["file_search", "code_interpreter", "function"]
    with pytest.raises(ValidationError):
        AssistantCreate.model_validate({"model": "m", "tools": [{"type": "calculator"}]})
    with pytest.raises(ValidationError):  # a function name the API never allowed
        AssistantCreate.model_validate(
            {"model": "m", "tools": [{"type": "function", "function": {"name": "a b"}}]}
        )


def test_run_limits_and_includable_values() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 256"):
        RunCreate.model_validate({"assistant_id": "asst_1", "max_completion_tokens": 10})
    assert {"step_details.tool_calls[*].file_search.results[*].content"} == INCLUDABLE
