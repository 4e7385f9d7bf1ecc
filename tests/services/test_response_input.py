"""A Response's input, tools and prompt groups (services/response_input.py,
response_tools.py, response_prompt.py): the checks a 400 names by path, the tools
refused by name, and the groups a chain is read into."""

from __future__ import annotations

import pytest

from assistantd.errors import InvalidRequest
from assistantd.services.response_input import input_items
from assistantd.services.response_prompt import chat_groups
from assistantd.services.response_tools import run_tools, tool_choice


def test_a_string_is_one_user_message() -> None:
    (item,), refs, references = input_items("Hi")
    assert item["type"] == "message"
    assert item["role"] == "user"
    assert item["content"] == [{"type": "input_text", "text": "Hi"}]
    assert item["id"].startswith("msg_")
    assert (refs, references) == ([], [])


def test_items_keep_their_ids_and_name_their_files_and_references() -> None:
    items, refs, references = input_items(
        [
            {"role": "assistant", "content": "Earlier.", "id": "msg_kept"},
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Look"},
                    {"type": "input_image", "file_id": "file-1"},
                ],
            },
            {"type": "item_reference", "id": "msg_elsewhere"},
        ]
    )
    assert items[0]["id"] == "msg_kept"
    assert items[0]["content"][0]["type"] == "output_text"
    assert refs == [("file-1", "input[1].content[1].file_id")]
    assert references == [(2, "msg_elsewhere")]


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"role": "robot", "content": "x"}, "input[0].role"),
        ({"type": "function_call_output", "output": "x"}, "input[0].call_id"),
        ({"type": "function_call", "call_id": "c", "arguments": "{}"}, "input[0].name"),
        ({"role": "user", "content": [{"type": "input_audio"}]}, "input[0].content[0].type"),
        (
            {"role": "user", "content": [{"type": "input_file", "file_url": "https://x/y.pdf"}]},
            "input[0].content[0].file_id",
        ),
        ({"role": "user", "content": [{"type": "input_image"}]}, "input[0].content[0].image_url"),
        ({"type": "computer_call"}, "input[0].type"),
        ("not an object", "input[0]"),
    ],
)
def test_a_bad_item_is_a_400_naming_its_path(item: object, param: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        input_items([item])  # type: ignore[list-item]
    assert refused.value.param == param


def test_tools_become_the_runs_and_its_threads_resources() -> None:
    tools, resources, stores, refs = run_tools(
        [
            {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": False},
            {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 3},
            {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-1"]}},
        ]
    )
    assert tools == [
        {
            "type": "function",
            "function": {"name": "f", "parameters": {"type": "object"}, "strict": False},
        },
        {"type": "file_search", "file_search": {"max_num_results": 3}},
        {"type": "code_interpreter"},
    ]
    assert resources == {
        "file_search": {"vector_store_ids": ["vs_1"]},
        "code_interpreter": {"file_ids": ["file-1"]},
    }
    assert stores == [("vs_1", "tools[1].vector_store_ids[0]")]
    assert refs == [("file-1", "tools[2].container.file_ids[0]")]


@pytest.mark.parametrize("kind", ["web_search", "web_search_preview", "mcp", "image_generation"])
def test_a_tool_this_server_cannot_run_is_refused_by_name(kind: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        run_tools([{"type": "function", "name": "ok"}, {"type": kind}])
    assert refused.value.param == "tools[1].type"
    assert refused.value.code == "unsupported_tool"
    assert kind in str(refused.value)


def test_tool_choice_in_the_runs_form() -> None:
    assert tool_choice(None) == "auto"
    assert tool_choice("required") == "required"
    assert tool_choice({"type": "function", "name": "f"}) == {
        "type": "function",
        "function": {"name": "f"},
    }
    assert tool_choice({"type": "file_search"}) == {"type": "file_search"}
    assert tool_choice({"type": "allowed_tools", "mode": "required", "tools": []}) == "required"
    with pytest.raises(InvalidRequest):
        tool_choice("sometimes")


def _call(call_id: str) -> dict[str, str]:
    return {"type": "function_call", "call_id": call_id, "name": "f", "arguments": "{}"}


def _output(call_id: str, output: str) -> dict[str, str]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def test_a_call_and_its_output_are_one_group_even_across_pages() -> None:
    outputs: dict[str, str] = {}
    # Read newest first: the later response's items (the outputs) come first...
    newer = chat_groups([_output("c1", "one"), _output("c2", "two")], outputs)
    assert newer == []
    assert outputs == {"c1": "one", "c2": "two"}
    # ...then the earlier one's, whose parallel calls take them.
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Go"}]}
    older = chat_groups([user, _call("c1"), _call("c2")], outputs)
    assert older == [
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "one"},
            {"role": "tool", "tool_call_id": "c2", "content": "two"},
        ],
        [{"role": "user", "content": "Go"}],
    ]
    assert outputs == {}


def test_reasoning_is_kept_but_not_shown_and_developer_is_system() -> None:
    items, _, _ = input_items(
        [
            {"role": "developer", "content": "Be brief."},
            {"type": "reasoning", "summary": [], "id": "rs_1"},
        ]
    )
    assert items[1]["id"] == "rs_1"
    assert chat_groups(items, {}) == [[{"role": "system", "content": "Be brief."}]]
