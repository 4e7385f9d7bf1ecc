"""`GET /v1/threads`, an extension (OpenAI listed threads only in its dashboard): keyset
pagination like every list, and a filter on metadata key/value pairs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import make_client
from tests.servers import Server, running_server


def _list(client: openai.OpenAI, **params: Any) -> dict[str, Any]:
    page: dict[str, Any] = client.get("/threads", cast_to=object, options={"params": params})
    return page


def test_threads_page_by_id_in_both_orders(client: openai.OpenAI) -> None:
    tag = {"suite": "threads-list-pages"}
    made = [client.beta.threads.create(metadata=tag).id for _ in range(5)]
    newest = _list(client, limit=2, **{"metadata[suite]": "threads-list-pages"})
    assert newest["object"] == "list"
    assert [t["id"] for t in newest["data"]] == made[::-1][:2]  # desc by default
    assert newest["has_more"] is True
    assert newest["first_id"] == made[4]
    assert newest["last_id"] == made[3]
    rest = _list(client, limit=10, after=newest["last_id"], **{"metadata[suite]": tag["suite"]})
    assert [t["id"] for t in rest["data"]] == made[::-1][2:]
    assert rest["has_more"] is False
    oldest = _list(client, limit=3, order="asc", **{"metadata[suite]": tag["suite"]})
    assert [t["id"] for t in oldest["data"]] == made[:3]
    before = _list(
        client, limit=2, order="asc", before=made[3], **{"metadata[suite]": tag["suite"]}
    )
    assert [t["id"] for t in before["data"]] == made[1:3]
    everything = _list(client, limit=100)
    assert set(made) <= {t["id"] for t in everything["data"]}
    assert everything["data"][0]["object"] == "thread"


def test_metadata_filters_combine(client: openai.OpenAI) -> None:
    a = client.beta.threads.create(metadata={"user": "ana", "topic": "tax"}).id
    b = client.beta.threads.create(metadata={"user": "ana", "topic": "rent"}).id
    client.beta.threads.create(metadata={"user": "bo", "topic": "tax"})
    odd = client.beta.threads.create(metadata={'we"ird.key': "v[1]"}).id
    by_user = _list(client, **{"metadata[user]": "ana"})
    assert [t["id"] for t in by_user["data"]] == [b, a]
    both = _list(client, **{"metadata[user]": "ana", "metadata[topic]": "tax"})
    assert [t["id"] for t in both["data"]] == [a]
    assert _list(client, **{'metadata[we"ird.key]': "v[1]"})["data"][0]["id"] == odd
    assert _list(client, **{"metadata[user]": "nobody"})["data"] == []


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"metadata[" + "k" * 65 + "]": "v"}, "metadata[" + "k" * 65 + "]"),
        ({"metadata[k]": "v" * 513}, "metadata[k]"),
        ({f"metadata[k{i}]": "v" for i in range(17)}, "metadata"),
    ],
    ids=["limit", "order", "long_key", "long_value", "too_many_pairs"],
)
def test_bad_list_parameters_are_400(server: Server, params: dict[str, str], param: str) -> None:
    response = httpx.get(f"{server.base_url}/v1/threads", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_nul_in_a_metadata_filter_is_a_400(server: Server) -> None:
    for name, value in (("metadata[a\x00b]", "v"), ("metadata[k]", "v\x00")):
        response = httpx.get(
            f"{server.base_url}/v1/threads",
            params={name: value},
            headers={"Authorization": "Bearer sk-test"},
        )
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["param"] == name
        assert "NUL" in error["message"]


@pytest.fixture(scope="module")
def small_scan(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"ASSISTANTD_THREAD_FILTER_SCAN_ROWS": "100", "ASSISTANTD_EMBEDDED_WARM_UP": "false"}
    with running_server(backend, tmp_path_factory.mktemp(f"scan-{backend}"), env) as srv:
        yield srv


def test_a_filter_reads_a_bounded_window_and_says_so(small_scan: Server) -> None:
    """A filter that matches nothing in the 100 threads past the cursor is refused with a
    clear 400 rather than reading every thread of the project."""
    with make_client(small_scan.base_url) as client:
        old = client.beta.threads.create(metadata={"kind": "rare"}).id
        for _ in range(120):
            client.beta.threads.create(metadata={"kind": "common"})
        common = _list(client, limit=5, **{"metadata[kind]": "common"})
        assert len(common["data"]) == 5
        assert common["has_more"] is True
        with pytest.raises(openai.BadRequestError) as refused:
            _list(client, **{"metadata[kind]": "rare"})
        assert refused.value.code == "filter_scan_limit"
        assert refused.value.param == "metadata"
        # From a nearer cursor the same filter finds it, within the window; the window
        # ends before the threads do, so the short page says there may be more.
        found = _list(client, order="asc", **{"metadata[kind]": "rare"})
        assert [t["id"] for t in found["data"]] == [old]
        assert found["has_more"] is True
        # Paging on past it works as usual.
        nxt = _list(client, order="asc", after=old, limit=50, **{"metadata[kind]": "common"})
        assert len(nxt["data"]) == 50
        # A short page at the end of the threads is an ordinary last page.
        tail = _list(client, after=old, **{"metadata[kind]": "rare"})  # older than the oldest
        assert tail["data"] == []
        assert tail["has_more"] is False
