"""Messages, threads and assistants may only name Files that exist in the caller's project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest

from tests.contract.helpers import error_body

Call = Callable[[openai.OpenAI, str, str], Any]

MISSING = "file-doesnotexist000000000000"

CASES: list[tuple[str, Call, str]] = [
    (
        "image_file part",
        lambda c, t, f: c.beta.threads.messages.create(
            t,
            role="user",
            content=[
                {"type": "text", "text": "look"},
                {"type": "image_file", "image_file": {"file_id": f}},
            ],
        ),
        "content[1].image_file.file_id",
    ),
    (
        "message attachment",
        lambda c, t, f: c.beta.threads.messages.create(
            t, role="user", content="x", attachments=[{"file_id": f, "tools": []}]
        ),
        "attachments[0].file_id",
    ),
    (
        "initial message attachment",
        lambda c, t, f: c.beta.threads.create(
            messages=[
                {"role": "user", "content": "ok"},
                {"role": "user", "content": "x", "attachments": [{"file_id": f, "tools": []}]},
            ]
        ),
        "messages[1].attachments[0].file_id",
    ),
    (
        "thread tool_resources",
        lambda c, t, f: c.beta.threads.create(
            tool_resources={"code_interpreter": {"file_ids": [f]}}
        ),
        "tool_resources.code_interpreter.file_ids[0]",
    ),
    (
        "thread update tool_resources",
        lambda c, t, f: c.beta.threads.update(
            t, tool_resources={"code_interpreter": {"file_ids": [f]}}
        ),
        "tool_resources.code_interpreter.file_ids[0]",
    ),
    (
        "assistant tool_resources",
        lambda c, t, f: c.beta.assistants.create(
            model="m", tool_resources={"code_interpreter": {"file_ids": [f]}}
        ),
        "tool_resources.code_interpreter.file_ids[0]",
    ),
]


@pytest.mark.parametrize(("call", "param"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_unknown_file_is_400_naming_the_field(
    client: openai.OpenAI, thread_id: str, call: Call, param: str
) -> None:
    before = client.beta.threads.messages.list(thread_id).data
    with pytest.raises(openai.BadRequestError) as info:
        call(client, thread_id, MISSING)
    body = error_body(info.value)
    assert body["param"] == param
    assert body["message"] == f"No file found with id '{MISSING}'."
    assert client.beta.threads.messages.list(thread_id).data == before


def test_deleted_file_can_no_longer_be_attached(client: openai.OpenAI, thread_id: str) -> None:
    file_id = client.files.create(file=("a.txt", b"a"), purpose="assistants").id
    client.beta.threads.messages.create(
        thread_id, role="user", content="x", attachments=[{"file_id": file_id, "tools": []}]
    )
    client.files.delete(file_id)
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.messages.create(
            thread_id, role="user", content="x", attachments=[{"file_id": file_id, "tools": []}]
        )
