"""Reading a model's code while it is written, and the links in its answer."""

from __future__ import annotations

import json

import pytest

from assistantd.tools.code_interpreter.code import code_of, sandbox_links, streamed_code

CODE = 'import pandas as pd\nprint("rows:", len(pd.read_csv("/mnt/data/a.csv")))\t# é ✓ 𝄞\\'


def test_every_prefix_of_the_arguments_decodes_to_a_prefix_of_the_code() -> None:
    arguments = json.dumps({"code": CODE})
    seen = ""
    for end in range(len(arguments) + 1):
        so_far = streamed_code(arguments[:end])
        assert CODE.startswith(so_far), (end, so_far)
        assert len(so_far) >= len(seen)  # it never takes back what it showed
        seen = so_far
    assert seen == CODE


def test_ascii_escaped_arguments_decode_too() -> None:
    arguments = json.dumps({"code": CODE}, ensure_ascii=True)  # \uXXXX and surrogate pairs
    assert "\\ud834" in arguments
    for end in range(len(arguments) + 1):
        assert CODE.startswith(streamed_code(arguments[:end]))
    assert streamed_code(arguments) == CODE


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ('{"code": "print(1)"}', "print(1)"),
        ("print(1)", "print(1)"),  # a small model writing raw code
        ('{"code": 5}', ""),
        ('["print(1)"]', '["print(1)"]'),
        ('{"code": "print(1)', "print(1)"),  # cut JSON: what was written
    ],
)
def test_code_of_a_finished_call(arguments: str, code: str) -> None:
    assert code_of(arguments) == code


def test_raw_code_streams_nothing() -> None:
    assert streamed_code("print('hi')") == ""


def test_sandbox_links_cover_the_link_not_the_markdown() -> None:
    text = "Here: [the CSV](sandbox:/mnt/data/out.csv). And sandbox:/mnt/data/chart.png."
    links = sandbox_links(text)
    assert [name for _, _, name in links] == ["out.csv", "chart.png"]
    for start, end, name in links:
        assert text[start:end] == f"sandbox:/mnt/data/{name}"
    assert sandbox_links("no links, /mnt/data/x.csv alone is not one") == []
