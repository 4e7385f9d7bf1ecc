"""Cursor pagination exactly as the contract says: limit, order, after, before, has_more."""

from __future__ import annotations

import openai
import pytest

from tests.contract.helpers import error_body
from tests.seed import seed_messages
from tests.servers import Server


@pytest.fixture(scope="module")
def paged_thread(server: Server) -> tuple[str, list[str]]:
    """A thread with 250 messages created through the API, most sharing a created_at second."""
    from tests.conftest import make_client

    with make_client(server.base_url) as client:
        thread_id = client.beta.threads.create().id
        ids = [
            client.beta.threads.messages.create(thread_id, role="user", content=f"m{i}").id
            for i in range(250)
        ]
    return thread_id, ids


def test_auto_pagination_walks_every_message_in_order(
    client: openai.OpenAI, paged_thread: tuple[str, list[str]]
) -> None:
    thread_id, ids = paged_thread
    desc = [m.id for m in client.beta.threads.messages.list(thread_id, limit=7)]
    assert desc == list(reversed(ids))
    asc = [m.id for m in client.beta.threads.messages.list(thread_id, limit=100, order="asc")]
    assert asc == ids
    texts = [
        m.content[0].text.value  # type: ignore[union-attr]
        for m in client.beta.threads.messages.list(thread_id, order="asc", limit=50)
    ]
    assert texts == [f"m{i}" for i in range(250)]


def test_order_is_strict_within_one_second(
    client: openai.OpenAI, paged_thread: tuple[str, list[str]]
) -> None:
    thread_id, ids = paged_thread
    page = client.beta.threads.messages.list(thread_id, order="asc", limit=100)
    seconds = [m.created_at for m in page.data]
    assert len(set(seconds)) < len(seconds), "the fixture should create many per second"
    assert [m.id for m in page.data] == ids[:100]


def test_page_fields_and_has_more(
    client: openai.OpenAI, paged_thread: tuple[str, list[str]]
) -> None:
    thread_id, ids = paged_thread
    first = client.beta.threads.messages.list(thread_id, limit=100, order="asc")
    assert [m.id for m in first.data] == ids[:100]
    assert first.has_more is True
    assert (first.first_id, first.last_id) == (ids[0], ids[99])
    last = client.beta.threads.messages.list(thread_id, limit=100, order="asc", after=ids[199])
    assert [m.id for m in last.data] == ids[200:]
    assert last.has_more is False
    exact = client.beta.threads.messages.list(thread_id, limit=50, order="asc", after=ids[199])
    assert exact.has_more is False
    default = client.beta.threads.messages.list(thread_id)
    assert [m.id for m in default.data] == list(reversed(ids))[:20]


def test_after_and_before_in_both_orders(
    client: openai.OpenAI, paged_thread: tuple[str, list[str]]
) -> None:
    thread_id, ids = paged_thread
    msgs = client.beta.threads.messages

    def page(**kw: object) -> tuple[list[str], bool]:
        p = msgs.list(thread_id, **kw)  # type: ignore[arg-type]
        return [m.id for m in p.data], p.has_more

    assert page(order="asc", after=ids[10], limit=3) == (ids[11:14], True)
    assert page(order="desc", after=ids[10], limit=3) == ([ids[9], ids[8], ids[7]], True)
    assert page(order="asc", before=ids[10], limit=3) == (ids[7:10], True)
    assert page(order="desc", before=ids[10], limit=3) == ([ids[13], ids[12], ids[11]], True)
    assert page(order="asc", before=ids[2], limit=5) == (ids[:2], False)
    assert page(order="desc", before=ids[247], limit=5) == ([ids[249], ids[248]], False)
    assert page(order="asc", after=ids[3], before=ids[7], limit=10) == (ids[4:7], False)
    assert page(order="desc", after=ids[0], limit=5) == ([], False)


def test_limit_edges(client: openai.OpenAI, paged_thread: tuple[str, list[str]]) -> None:
    thread_id, ids = paged_thread
    one = client.beta.threads.messages.list(thread_id, limit=1)
    assert [m.id for m in one.data] == [ids[-1]]
    assert one.has_more is True
    hundred = client.beta.threads.messages.list(thread_id, limit=100)
    assert len(hundred.data) == 100
    for bad in (0, 101, -1):
        with pytest.raises(openai.BadRequestError) as info:
            client.beta.threads.messages.list(thread_id, limit=bad)
        assert error_body(info.value)["param"] == "limit"
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.messages.list(thread_id, order="sideways")  # type: ignore[arg-type]
    assert error_body(info.value)["param"] == "order"


def test_empty_list_has_null_ids(client: openai.OpenAI, thread_id: str) -> None:
    raw = client.beta.threads.messages.with_raw_response.list(thread_id)
    body = raw.http_response.json()
    assert body == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


def test_run_id_filter(client: openai.OpenAI, server: Server) -> None:
    thread_id = client.beta.threads.create().id
    plain = client.beta.threads.messages.create(thread_id, role="user", content="q").id
    run_a = seed_messages(server.database_url, thread_id, 3, run_id="run_aaaaaaaaaaaa")
    run_b = seed_messages(server.database_url, thread_id, 2, run_id="run_bbbbbbbbbbbb")
    listed = client.beta.threads.messages.list(thread_id, run_id="run_aaaaaaaaaaaa", order="asc")
    assert [m.id for m in listed] == run_a
    assert all(m.run_id == "run_aaaaaaaaaaaa" for m in listed)
    everything = [m.id for m in client.beta.threads.messages.list(thread_id, order="asc")]
    assert everything == [plain, *run_a, *run_b]
    none = client.beta.threads.messages.list(thread_id, run_id="run_cccccccccccc")
    assert none.data == []
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.messages.list(thread_id, run_id="msg_notarun")
    assert error_body(info.value)["param"] == "run_id"


def test_assistants_paginate_too(client: openai.OpenAI) -> None:
    ids = [client.beta.assistants.create(model="m", name=f"p{i}").id for i in range(25)]
    walked = [a.id for a in client.beta.assistants.list(limit=4, order="asc") if a.id in ids]
    assert walked == ids
