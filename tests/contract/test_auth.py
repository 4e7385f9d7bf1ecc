"""API keys and tenancy: hashed keys, OpenAI-shaped 401s, projects that cannot see each other."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from assistantd.store.migrate import with_sync_connection
from tests.conftest import make_client
from tests.contract.helpers import error_body
from tests.servers import Server, running_server


@pytest.fixture(scope="module")
def auth_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # TTL 0: keys minted or revoked by the CLI take effect on the next request.
    tmp = tmp_path_factory.mktemp(f"auth-{backend}")
    with running_server(backend, tmp, env={"ASSISTANTD_KEY_CACHE_TTL_S": "0"}) as srv:
        yield srv


def mint(server: Server, project: str) -> str:
    result = server.cli("keys", "create", "--project", project, "--name", f"{project} key")
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    assert secret.startswith("sk-ad-")
    return secret


@pytest.fixture(scope="module")
def keys(auth_server: Server) -> dict[str, str]:
    # While no key exists the server is open: no Authorization header needed.
    assert httpx.get(f"{auth_server.base_url}/v1/assistants").status_code == 200
    return {"alpha": mint(auth_server, "alpha"), "beta": mint(auth_server, "beta")}


def test_requests_without_a_valid_key_are_401(auth_server: Server, keys: dict[str, str]) -> None:
    response = httpx.get(f"{auth_server.base_url}/v1/assistants")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    with (
        make_client(auth_server.base_url, api_key="sk-ad-wrong") as client,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        client.beta.assistants.list()
    assert error_body(info.value)["code"] == "invalid_api_key"
    bad_scheme = httpx.get(
        f"{auth_server.base_url}/v1/assistants", headers={"Authorization": f"Basic {keys['alpha']}"}
    )
    assert bad_scheme.status_code == 401


def test_projects_cannot_see_each_other(auth_server: Server, keys: dict[str, str]) -> None:
    with (
        make_client(auth_server.base_url, keys["alpha"]) as alpha,
        make_client(auth_server.base_url, keys["beta"]) as beta,
    ):
        assistant = alpha.beta.assistants.create(model="m", name="alpha's")
        thread = alpha.beta.threads.create(messages=[{"role": "user", "content": "secret"}])
        message = alpha.beta.threads.messages.list(thread.id).data[0]

        hidden = [
            lambda: beta.beta.assistants.retrieve(assistant.id),
            lambda: beta.beta.assistants.update(assistant.id, name="mine"),
            lambda: beta.beta.assistants.delete(assistant.id),
            lambda: beta.beta.threads.retrieve(thread.id),
            lambda: beta.beta.threads.update(thread.id, metadata={"x": "y"}),
            lambda: beta.beta.threads.delete(thread.id),
            lambda: beta.beta.threads.messages.list(thread.id),
            lambda: beta.beta.threads.messages.create(thread.id, role="user", content="x"),
            lambda: beta.beta.threads.messages.retrieve(message.id, thread_id=thread.id),
            lambda: beta.beta.threads.messages.update(message.id, thread_id=thread.id, metadata={}),
            lambda: beta.beta.threads.messages.delete(message.id, thread_id=thread.id),
        ]
        for call in hidden:
            with pytest.raises(openai.NotFoundError):
                call()
        assert assistant.id not in [a.id for a in beta.beta.assistants.list()]
        beta_assistant = beta.beta.assistants.create(model="m")
        # Files follow the same rule, including as references from beta's own objects.
        secret_file = alpha.files.create(file=("alpha.txt", b"alpha only"), purpose="assistants")
        for call in (
            lambda: beta.files.retrieve(secret_file.id),
            lambda: beta.files.content(secret_file.id),
            lambda: beta.files.delete(secret_file.id),
        ):
            with pytest.raises(openai.NotFoundError):
                call()
        assert secret_file.id not in [f.id for f in beta.files.list()]
        beta_thread = beta.beta.threads.create()
        with pytest.raises(openai.BadRequestError):
            beta.beta.threads.messages.create(
                beta_thread.id,
                role="user",
                content="x",
                attachments=[{"file_id": secret_file.id, "tools": []}],
            )
        assert alpha.files.content(secret_file.id).read() == b"alpha only"
        assert beta_assistant.id not in [a.id for a in alpha.beta.assistants.list()]
        # Nothing beta tried changed alpha's objects.
        assert alpha.beta.assistants.retrieve(assistant.id).name == "alpha's"
        assert [m.id for m in alpha.beta.threads.messages.list(thread.id)] == [message.id]
        # Runs and their steps too.
        run = alpha.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        for call in (
            lambda: beta.beta.threads.runs.retrieve(run.id, thread_id=thread.id),
            lambda: beta.beta.threads.runs.list(thread.id),
            lambda: beta.beta.threads.runs.steps.list(run.id, thread_id=thread.id),
            lambda: beta.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={}),
            lambda: beta.beta.threads.runs.create(
                thread_id=thread.id, assistant_id=beta_assistant.id
            ),
            lambda: beta.beta.threads.runs.create(
                thread_id=beta_thread.id, assistant_id=assistant.id
            ),
        ):
            with pytest.raises(openai.NotFoundError):
                call()
        assert alpha.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == run.status


def test_only_the_hash_is_stored(auth_server: Server, keys: dict[str, str]) -> None:
    def rows(conn: Connection) -> list[tuple[str, ...]]:
        return [tuple(str(v) for v in row) for row in conn.execute(text("SELECT * FROM api_keys"))]

    stored = asyncio.run(with_sync_connection(auth_server.database_url, rows))
    assert isinstance(stored, list)
    for secret in keys.values():
        digest = hashlib.sha256(secret.encode()).hexdigest()
        assert any(digest in row for row in stored)
        assert not any(secret in value for row in stored for value in row)
    if auth_server.database_url.startswith("sqlite"):
        raw = Path(auth_server.database_url.split("///", 1)[1]).read_bytes()
        assert not any(secret.encode() in raw for secret in keys.values())
    listing = auth_server.cli("keys", "list")
    assert listing.returncode == 0
    assert "alpha" in listing.stdout
    assert "beta" in listing.stdout
    assert not any(secret in listing.stdout for secret in keys.values())


def test_revoked_key_stops_working(auth_server: Server, keys: dict[str, str]) -> None:
    secret = mint(auth_server, "gamma")
    with make_client(auth_server.base_url, secret) as gamma:
        gamma.beta.assistants.list()
        key_id = next(
            line.split("\t")[0]
            for line in auth_server.cli("keys", "list").stdout.splitlines()
            if "\tgamma\t" in line
        )
        revoked = auth_server.cli("keys", "revoke", key_id)
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(openai.AuthenticationError):
            gamma.beta.assistants.list()
    assert auth_server.cli("keys", "revoke", key_id).returncode == 1


def test_bad_project_name_is_refused(auth_server: Server) -> None:
    result = auth_server.cli("keys", "create", "--project", "no spaces please")
    assert result.returncode == 2
    assert "Project names" in result.stderr


def test_open_server_beyond_loopback_warns(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Start-up behaviour, independent of the database: SQLite only.
    tmp = tmp_path_factory.mktemp("open-warning")
    with running_server("sqlite", tmp, env={"ASSISTANTD_HOST": "0.0.0.0"}):
        pass
    assert "No API keys exist" in (tmp / "server.log").read_text()
    quiet = tmp_path_factory.mktemp("loopback-quiet")
    with running_server("sqlite", quiet):
        pass
    assert "No API keys exist" not in (quiet / "server.log").read_text()


def test_revoking_every_key_never_opens_the_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp(f"revoke-all-{backend}")
    with running_server(backend, tmp, env={"ASSISTANTD_KEY_CACHE_TTL_S": "0"}) as srv:
        with make_client(srv.base_url, api_key="sk-anything") as before:
            secret_thread = before.beta.threads.create(metadata={"secret": "yes"}).id
        key = mint(srv, "solo")
        listed = srv.cli("keys", "list").stdout.split()
        assert srv.cli("keys", "revoke", listed[0]).returncode == 0
        for api_key in ("", key, "sk-anything"):
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
            answer = httpx.get(f"{srv.base_url}/v1/threads/{secret_thread}", headers=headers)
            assert answer.status_code == 401, answer.text


def test_auth_keys_mode_needs_a_key_even_before_any_exists(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp(f"keys-mode-{backend}")
    with running_server(backend, tmp, env={"ASSISTANTD_AUTH": "keys"}) as srv:
        answer = httpx.post(f"{srv.base_url}/v1/threads", json={})
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "missing_api_key"
        log = (tmp / "server.log").read_text()
        assert "authentication keys: every request needs an API key (0 active)" in log


def test_open_mode_is_refused_once_keys_exist(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp(f"open-mode-{backend}")
    with running_server(backend, tmp) as srv:
        assert (
            "authentication open: no API key was ever created" in (tmp / "server.log").read_text()
        )
        mint(srv, "acme")
        srv.stop()
        srv.env["ASSISTANTD_AUTH"] = "open"
        with pytest.raises(RuntimeError, match="refusing to serve without keys"):
            srv.start()


def test_vector_stores_are_private_to_their_project(
    auth_server: Server, keys: dict[str, str]
) -> None:
    with (
        make_client(auth_server.base_url, keys["alpha"]) as alpha,
        make_client(auth_server.base_url, keys["beta"]) as beta,
    ):
        f = alpha.files.create(
            file=("secret.txt", b"The vault code is 4711."), purpose="assistants"
        )
        store = alpha.vector_stores.create(file_ids=[f.id])
        batch = alpha.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[f.id])
        hidden = [
            lambda: beta.vector_stores.retrieve(store.id),
            lambda: beta.vector_stores.update(store.id, name="mine"),
            lambda: beta.vector_stores.delete(store.id),
            lambda: beta.vector_stores.search(store.id, query="vault code"),
            lambda: beta.vector_stores.files.list(store.id),
            lambda: beta.vector_stores.files.retrieve(file_id=f.id, vector_store_id=store.id),
            lambda: beta.vector_stores.files.content(file_id=f.id, vector_store_id=store.id),
            lambda: beta.vector_stores.files.delete(file_id=f.id, vector_store_id=store.id),
            lambda: beta.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id),
            lambda: beta.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id),
        ]
        for call in hidden:
            with pytest.raises(openai.NotFoundError):
                call()
        # Beta cannot attach alpha's File to a store of its own either.
        own = beta.vector_stores.create()
        with pytest.raises(openai.BadRequestError):
            beta.vector_stores.files.create(vector_store_id=own.id, file_id=f.id)
        assert store.id not in {s.id for s in beta.vector_stores.list(limit=100)}
        assert alpha.vector_stores.retrieve(store.id).file_counts.total == 1


def test_listing_threads_shows_only_the_callers_project(
    auth_server: Server, keys: dict[str, str]
) -> None:
    with (
        make_client(auth_server.base_url, keys["alpha"]) as alpha,
        make_client(auth_server.base_url, keys["beta"]) as beta,
    ):
        mine = alpha.beta.threads.create(metadata={"who": "alpha"}).id
        theirs = beta.beta.threads.create(metadata={"who": "alpha"}).id  # same metadata
        listed = alpha.get("/threads", cast_to=object, options={"params": {"limit": 100}})
        ids = [t["id"] for t in listed["data"]]  # type: ignore[index]
        assert mine in ids
        assert theirs not in ids
        filtered = alpha.get(
            "/threads", cast_to=object, options={"params": {"metadata[who]": "alpha"}}
        )
        assert [t["id"] for t in filtered["data"]] == [mine]  # type: ignore[index]


def test_another_projects_vector_store_is_refused_in_tool_resources(
    auth_server: Server, keys: dict[str, str]
) -> None:
    """As a foreign File is: a 400 naming the param, on every path that takes store ids."""
    with (
        make_client(auth_server.base_url, keys["alpha"]) as alpha,
        make_client(auth_server.base_url, keys["beta"]) as beta,
    ):
        store = alpha.vector_stores.create(name="alpha's")
        resources = {"file_search": {"vector_store_ids": [store.id]}}
        own_assistant = beta.beta.assistants.create(model="m")
        own_thread = beta.beta.threads.create()
        before = {a.id for a in beta.beta.assistants.list(limit=100)}
        calls = [
            lambda: beta.beta.assistants.create(model="m", tool_resources=resources),
            lambda: beta.beta.assistants.update(own_assistant.id, tool_resources=resources),
            lambda: beta.beta.threads.create(tool_resources=resources),
            lambda: beta.beta.threads.update(own_thread.id, tool_resources=resources),
            lambda: beta.beta.threads.create_and_run(
                assistant_id=own_assistant.id, tool_resources=resources
            ),
            lambda: beta.beta.threads.create_and_run(
                assistant_id=own_assistant.id, thread={"tool_resources": resources}
            ),
        ]
        for call in calls:
            with pytest.raises(openai.BadRequestError) as refused:
                call()  # type: ignore[no-untyped-call]
            body = error_body(refused.value)
            assert body["code"] == "vector_store_not_found"
            assert body["param"].endswith("file_search.vector_store_ids[0]")
            assert store.id in body["message"]
        # Nothing was half-written: beta's objects are as they were, and none was made.
        assert beta.beta.threads.retrieve(own_thread.id).tool_resources.file_search is None  # type: ignore[union-attr]
        assert {a.id for a in beta.beta.assistants.list(limit=100)} == before
        # Its own store is accepted.
        mine = beta.vector_stores.create(name="beta's")
        made = beta.beta.assistants.create(
            model="m", tool_resources={"file_search": {"vector_store_ids": [mine.id]}}
        )
        assert made.tool_resources.file_search.vector_store_ids == [mine.id]  # type: ignore[union-attr]


def test_conversations_are_private_to_their_project(
    auth_server: Server, keys: dict[str, str]
) -> None:
    """On every conversation path, another project's conversation, its items, and its
    thread under either id are 404s; its listing shows only the caller's."""
    with (
        make_client(auth_server.base_url, keys["alpha"]) as alpha,
        make_client(auth_server.base_url, keys["beta"]) as beta,
    ):
        conv = alpha.conversations.create(
            metadata={"who": "alpha"},
            items=[{"type": "message", "role": "user", "content": "alpha's secret"}],
        )
        thread = alpha.beta.threads.create(messages=[{"role": "user", "content": "also secret"}])
        (item,) = alpha.conversations.items.list(conv.id).data
        for own in (conv.id, thread.id):
            calls = (
                lambda o=own: beta.conversations.retrieve(o),
                lambda o=own: beta.conversations.update(o, metadata={"x": "y"}),
                lambda o=own: beta.conversations.items.list(o),
                lambda o=own: beta.conversations.items.create(
                    o, items=[{"type": "message", "role": "user", "content": "x"}]
                ),
                lambda o=own: beta.conversations.items.retrieve(item.id, conversation_id=o),
                lambda o=own: beta.conversations.items.delete(item.id, conversation_id=o),
                lambda o=own: beta.responses.create(model="gpt-4o", conversation=o, input="x"),
                lambda o=own: beta.beta.threads.messages.list(o),
                lambda o=own: beta.conversations.delete(o),
            )
            for call in calls:
                with pytest.raises(openai.NotFoundError):
                    call()
        listed = beta.get("/conversations", cast_to=object, options={"params": {"limit": 100}})
        assert conv.id not in [c["id"] for c in listed["data"]]  # type: ignore[index]
        assert [i.id for i in alpha.conversations.items.list(conv.id).data] == [item.id]
        assert alpha.conversations.retrieve(conv.id).metadata == {"who": "alpha"}
