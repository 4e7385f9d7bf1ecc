"""assistantd.ids: prefixes, shape, and creation order."""

from __future__ import annotations

import re

import pytest

from assistantd.ids import IdKind, InvalidIdError, check_id, new_id


def test_ids_look_like_openai_ids() -> None:
    for kind in IdKind:
        value = new_id(kind)
        assert value.startswith(kind.value)
        assert re.fullmatch(r"[0-9A-Za-z]{24}", value[len(kind.value) :])


def test_ids_sort_in_creation_order_even_within_one_millisecond() -> None:
    ids = [new_id(IdKind.message) for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_check_id_rejects_other_kinds_with_openai_wording() -> None:
    assert check_id(IdKind.thread, "thread_abc", "thread_id") == "thread_abc"
    with pytest.raises(InvalidIdError) as info:
        check_id(IdKind.thread, "msg_abc", "thread_id")
    assert str(info.value) == (
        "Invalid 'thread_id': 'msg_abc'. Expected an ID that begins with 'thread'."
    )
    with pytest.raises(InvalidIdError):
        check_id(IdKind.file, "file_abc", "file_id")  # files use a hyphen


def test_documents_are_rendered_id_first() -> None:
    """Pages read first/last ids off the front of stored documents (store/repos/pages.py)."""
    import orjson

    from assistantd.protocol.messages import MessageCreate
    from assistantd.services.documents import encode
    from assistantd.services.messages import message_doc
    from assistantd.store.repos.pages import doc_id

    mid = new_id(IdKind.message)
    req = MessageCreate(role="user", content='with "quotes" and \\ backslashes')
    doc = encode(message_doc(req, message_id=mid, thread_id="thread_x", created_at=1)).encode()
    assert doc_id(doc) == mid
    # A document some other writer rendered in another key order still works.
    assert doc_id(orjson.dumps({"object": "thread", "id": "thread_y"})) == "thread_y"
