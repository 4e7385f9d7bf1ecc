"""`assistantd export` and `import` between real servers: a round trip SQLite →
PostgreSQL → SQLite compared through the API (every object, File bytes, search
results), an export while writes go on, an import killed with SIGKILL and run again,
and archives that must be refused whole (truncated, tampered, too new, clashing)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from assistantd.store.archive.format import unpacked
from tests.conftest import make_client
from tests.contract.helpers import WEATHER
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

FOODS = b"Filip's favorite food is cake. Maria's favorite food is pizza. Ada likes tea."
QUERIES = ("favorite food", "who likes tea", "pizza")


def _cli(server: Server, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistantd", *args, "--database-url", server.database_url,
         "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, **server.env},
    )  # fmt: skip


@pytest.fixture(scope="module")
def source(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("archive-source")
    with running_server("sqlite", tmp, route_env(upstream)) as srv:
        _populate(srv, upstream)
        yield srv


def _populate(server: Server, upstream: ScriptedUpstream) -> None:
    """A bit of everything: an assistant with a store, threads, runs with steps, a
    conversation, responses, an uploaded file."""
    upstream.reset()
    with make_client(server.base_url) as c:
        foods = c.files.create(file=("foods.txt", FOODS), purpose="assistants")
        store = c.vector_stores.create(name="foods", file_ids=[foods.id])
        for _ in range(100):
            if c.vector_stores.retrieve(store.id).status == "completed":
                break
            time.sleep(0.1)
        assistant = c.beta.assistants.create(
            model="scripted-gpt",
            instructions="Answer.",
            tools=[{"type": "file_search"}, {"type": "function", "function": {
                k: v for k, v in WEATHER.items() if k != "type"}}],
            tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        )  # fmt: skip
        upstream.script(
            Reply(tool_calls=[("file_search", '{"query": "favorite food"}')]),
            Reply(text="Cake【0:0†foods.txt】."),
            Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')]),
        )
        thread = c.beta.threads.create(
            metadata={"k": "v"}, messages=[{"role": "user", "content": "What does Filip eat?"}]
        )
        c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        waiting = c.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        assert waiting.status == "requires_action"  # it stays waiting in the archive
        for i in range(30):
            c.beta.threads.create(messages=[{"role": "user", "content": f"thread {i}"}])
        upstream.script(Reply(text="Hello, Ada."))
        conv = c.conversations.create(items=[{"type": "message", "role": "user", "content": "Ada"}])
        c.responses.create(model="scripted-gpt", conversation=conv.id, input="Hi")
        upstream.script(Reply(text="Alone."))
        c.responses.create(model="scripted-gpt", input="Alone?")
        c.files.create(file=("notes.md", b"# notes\n" * 1000), purpose="user_data")


def _listing(c: openai.OpenAI, path: str) -> list[Any]:
    out, after = [], None
    while True:
        params: dict[str, Any] = {"limit": 100, "order": "asc"}
        if after:
            params["after"] = after
        page = c.get(path, cast_to=object, options={"params": params})
        out += page["data"]  # type: ignore[index]
        if not page["has_more"]:  # type: ignore[index]
            return out
        after = page["last_id"]  # type: ignore[index]


def _everything(server: Server) -> dict[str, Any]:
    """What the API answers about every object: the thing a round trip must keep."""
    with make_client(server.base_url) as c:
        seen: dict[str, Any] = {"assistants": _listing(c, "/assistants")}
        threads = _listing(c, "/threads")
        seen["threads"] = threads
        for t in threads:
            seen[t["id"]] = {
                "messages": _listing(c, f"/threads/{t['id']}/messages"),
                "runs": _listing(c, f"/threads/{t['id']}/runs"),
                "items": _listing(c, f"/conversations/{t['id']}/items"),
            }
            for run in seen[t["id"]]["runs"]:
                seen[run["id"]] = _listing(c, f"/threads/{t['id']}/runs/{run['id']}/steps")
        seen["files"] = _listing(c, "/files")
        for f in seen["files"]:
            seen[f["id"]] = c.files.content(f["id"]).read()
        seen["stores"] = _listing(c, "/vector_stores")
        for s in seen["stores"]:
            seen[s["id"]] = _listing(c, f"/vector_stores/{s['id']}/files")
            for q in QUERIES:
                hits = c.vector_stores.search(s["id"], query=q).data
                seen[f"{s['id']}:{q}"] = sorted(
                    (h.file_id, h.content[0].text, round(h.score, 3)) for h in hits
                )
        seen["conversations"] = _listing(c, "/conversations")
    return seen


def _chunks(archive: Path, scratch: Path) -> set[tuple[str, str, int, str, str]]:
    """The archive's chunks, embeddings as written (base64 of float32): order aside, a
    round trip must give back the same bits."""
    scratch.mkdir(parents=True, exist_ok=True)
    with unpacked(archive, scratch) as root:
        lines = (root / "chunks.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    return {(r["vector_store_id"], r["file_id"], r["seq"], r["text"], r["embedding"]) for r in rows}


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key], key


def test_a_round_trip_sqlite_postgres_sqlite_keeps_everything(
    source: Server, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    before = _everything(source)
    first = tmp_path / "first.tar.gz"
    done = _cli(source, "export", str(first))
    assert done.returncode == 0, done.stderr
    assert "exported" in done.stdout
    with running_server("postgres", tmp_path / "pg", route_env(upstream)) as pg:
        done = _cli(pg, "import", str(first))
        assert done.returncode == 0, done.stderr
        _same(before, _everything(pg))
        again = _cli(pg, "import", str(first))  # idempotent: nothing doubles
        assert again.returncode == 0, again.stderr
        _same(before, _everything(pg))
        second = tmp_path / "second.tar.zst"
        done = _cli(pg, "export", str(second))
        assert done.returncode == 0, done.stderr
    # Through PostgreSQL's pgvector and back, every embedding keeps every bit.
    chunks = _chunks(first, tmp_path / "unpacked-first")
    assert chunks
    assert _chunks(second, tmp_path / "unpacked-second") == chunks
    with running_server("sqlite", tmp_path / "back", route_env(upstream)) as back:
        done = _cli(back, "import", str(second))
        assert done.returncode == 0, done.stderr
        _same(before, _everything(back))
        # The imported run still waits for its tool outputs, and can be answered.
        with make_client(back.base_url) as c:
            waiting = [
                r
                for t in _listing(c, "/threads")
                for r in c.beta.threads.runs.list(t["id"]).data
                if r.status == "requires_action"
            ]
        assert len(waiting) == 1


def test_an_export_during_writes_is_one_consistent_moment(source: Server, tmp_path: Path) -> None:
    with make_client(source.base_url) as c:
        thread = c.beta.threads.create()
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        with make_client(source.base_url) as c:
            while not stop.is_set():
                m = c.beta.threads.messages.create(thread.id, role="user", content="more")
                written.append(m.id)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.3)
        target = tmp_path / "live"
        done = _cli(source, "export", str(target))
    finally:
        stop.set()
        writer.join()
    assert done.returncode == 0, done.stderr
    exported = [
        json.loads(line)["id"]
        for line in (target / "tables" / "messages.jsonl").read_text().splitlines()
        if json.loads(line)["thread_id"] == thread.id
    ]
    # A prefix of what was written, with no gap: one moment of the database.
    assert 0 < len(exported) < len(written)
    assert sorted(exported) == written[: len(exported)]
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["tables"]["messages"]["rows"] == len(
        (target / "tables" / "messages.jsonl").read_text().splitlines()
    )


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        except sqlite3.OperationalError:
            return 0  # not migrated yet


def test_an_import_killed_midway_finishes_when_run_again(
    source: Server, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    with make_client(source.base_url) as c:
        for n in range(200):  # 6,400 messages more, so that the kill lands midway
            batch = [{"role": "user", "content": f"m{n}.{i}"} for i in range(32)]
            c.beta.threads.create(messages=batch)  # type: ignore[arg-type]
    archive = tmp_path / "big"
    assert _cli(source, "export", str(archive)).returncode == 0
    total = len((archive / "tables" / "messages.jsonl").read_text().splitlines())
    with running_server("sqlite", tmp_path / "target", route_env(upstream)) as target:
        db = Path(target.database_url.removeprefix("sqlite:///"))
        cmd = [sys.executable, "-m", "assistantd", "import", str(archive), "--database-url",
               target.database_url, "--data-dir", str(target.data_dir)]  # fmt: skip
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _count(db, "messages") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert 0 < _count(db, "messages") < total  # killed midway
        done = _cli(target, "import", str(archive))
        assert done.returncode == 0, done.stderr
        assert _count(db, "messages") == total
        assert _count(db, "vs_chunks") == _count(
            Path(source.database_url.removeprefix("sqlite:///")), "vs_chunks"
        )
        _same(_everything(source), _everything(target))


def _rewrite(archive: Path, table: str, change: Any) -> None:
    """Change an archive's table and fix its checksum, as a foreign tool might."""
    from assistantd.store.archive.format import sha256_of

    path = archive / "tables" / f"{table}.jsonl"
    rows = [change(json.loads(line)) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = json.loads((archive / "manifest.json").read_text())
    manifest["tables"][table]["sha256"] = sha256_of(path)
    (archive / "manifest.json").write_text(json.dumps(manifest))


def test_a_bad_archive_is_refused_whole(
    source: Server, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    good = tmp_path / "good"
    assert _cli(source, "export", str(good)).returncode == 0
    packed = tmp_path / "good.tar.gz"
    assert _cli(source, "export", str(packed)).returncode == 0
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(packed.read_bytes()[: packed.stat().st_size // 2])
    tampered = tmp_path / "tampered"
    subprocess.run(["cp", "-r", str(good), str(tampered)], check=True)
    messages = tampered / "tables" / "messages.jsonl"
    messages.write_text(messages.read_text().replace("thread 1", "thread X", 1))
    future = tmp_path / "future"
    subprocess.run(["cp", "-r", str(good), str(future)], check=True)
    manifest = json.loads((future / "manifest.json").read_text())
    (future / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    unknown = tmp_path / "unknown-table"
    subprocess.run(["cp", "-r", str(good), str(unknown)], check=True)
    manifest = json.loads((unknown / "manifest.json").read_text())
    tables = {**manifest["tables"], "wormholes": manifest["tables"]["threads"]}
    (unknown / "manifest.json").write_text(json.dumps({**manifest, "tables": tables}))
    foreign = tmp_path / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        tar.add(Path(__file__), arcname="manifest.json")
    damaged = tmp_path / "damaged-file"  # one File's bytes changed, its checksum not
    subprocess.run(["cp", "-r", str(good), str(damaged)], check=True)
    blob = next((damaged / "blobs").iterdir())
    blob.write_bytes(b"not " + blob.read_bytes())
    clashing = tmp_path / "clashing"
    subprocess.run(["cp", "-r", str(good), str(clashing)], check=True)
    for table in ("threads", "messages"):
        _rewrite(clashing, table, lambda row: {**row, "project": "someone-else"})

    # Into a fresh server, the damaged File is refused while it is copied: nothing is
    # written, and no copy of any File is left, kept or temporary.
    with running_server("sqlite", tmp_path / "fresh", route_env(upstream)) as fresh:
        done = _cli(fresh, "import", str(damaged))
        assert done.returncode == 2, done.stderr
        assert f"blobs/{blob.name} does not match its checksum" in done.stderr
        db = Path(fresh.database_url.removeprefix("sqlite:///"))
        assert _count(db, "threads") == 0
        assert [p for p in (fresh.data_dir / "blobs").rglob("*") if p.is_file()] == []
    with running_server("sqlite", tmp_path / "target", route_env(upstream)) as target:
        assert _cli(target, "import", str(good)).returncode == 0  # the clash needs these
        db = Path(target.database_url.removeprefix("sqlite:///"))
        counts = {t: _count(db, t) for t in ("threads", "messages", "files", "vs_chunks")}
        for bad, said in (
            (truncated, "cannot be read"),
            (tampered, "does not match its checksum"),
            (damaged, "does not match its checksum"),  # its bytes here are good: still refused
            (future, "newer than this assistantd reads"),
            (unknown, "tables this assistantd does not"),
            (foreign, "no readable manifest"),
            (clashing, "belong to another project"),
            (tmp_path / "missing", "does not exist"),
        ):
            done = _cli(target, "import", str(bad))
            assert done.returncode == 2, (bad, done.stderr)
            assert said in done.stderr, (bad, done.stderr)
            assert {t: _count(db, t) for t in counts} == counts, bad  # nothing written
        assert httpx.get(f"{target.base_url}/health").status_code == 200
    # An export never writes over what is there.
    over = _cli(source, "export", str(good))
    assert over.returncode == 2
    assert "already exists" in over.stderr


def test_chunks_of_another_embedding_model_are_embedded_again(
    source: Server, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    """An archive made with the embedded model, imported where an upstream embeds: its
    chunks are not mixed in; its stores' files are ingested again here and searchable."""
    archive = tmp_path / "minilm"
    assert _cli(source, "export", str(archive)).returncode == 0
    env = {
        **route_env(upstream),
        "ASSISTANTD_EMBEDDINGS_BASE_URL": upstream.base_url,
        "ASSISTANTD_EMBEDDINGS_DIMENSIONS": "64",
    }
    with running_server("sqlite", tmp_path / "other-model", env) as target:
        done = _cli(target, "import", str(archive))
        assert done.returncode == 0, done.stderr
        assert "embedded again" in done.stdout
        with make_client(target.base_url) as c:
            (store,) = c.vector_stores.list().data
            for _ in range(200):
                store = c.vector_stores.retrieve(store.id)
                if store.status == "completed":
                    break
                time.sleep(0.1)
            assert store.file_counts.completed == 1
            hits = c.vector_stores.search(store.id, query="who likes tea").data
        assert "Ada likes tea" in hits[0].content[0].text
        assert upstream.embedding_requests  # this server's model embedded them
        db = Path(target.database_url.removeprefix("sqlite:///"))
        with sqlite3.connect(db) as conn:
            (length,) = conn.execute("SELECT length(embedding) FROM vs_chunks LIMIT 1").fetchone()
        assert length == 64 * 4  # its own vectors, not the archive's 384-long ones


def test_a_project_export_carries_that_project_and_its_keys_only(
    upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    env = {**route_env(upstream), "ASSISTANTD_KEY_CACHE_TTL_S": "0"}
    with running_server("sqlite", tmp_path / "two", env) as two:
        keys = {}
        for project in ("alpha", "beta"):
            made = _cli(two, "keys", "create", "--project", project)
            assert made.returncode == 0, made.stderr
            keys[project] = made.stdout.strip()
        _cli(two, "projects", "limits", "alpha", "--requests-per-minute", "1000")
        for project, key in keys.items():
            with make_client(two.base_url, key) as c:
                c.beta.threads.create(messages=[{"role": "user", "content": f"{project}'s"}])
                c.files.create(file=(f"{project}.txt", project.encode()), purpose="user_data")
        archive = tmp_path / "alpha.tar.gz"
        done = _cli(two, "export", str(archive), "--project", "alpha")
        assert done.returncode == 0, done.stderr
    with running_server("postgres", tmp_path / "alpha-only", env) as target:
        assert _cli(target, "import", str(archive)).returncode == 0
        # alpha's key works here (its hash came along); beta's does not exist.
        with make_client(target.base_url, keys["alpha"]) as c:
            (thread,) = _listing(c, "/threads")
            messages = c.beta.threads.messages.list(thread["id"]).data
            assert messages[0].content[0].text.value == "alpha's"  # type: ignore[union-attr]
            (f,) = c.files.list().data
            assert c.files.content(f.id).read() == b"alpha"
        with (
            pytest.raises(openai.AuthenticationError),
            make_client(target.base_url, keys["beta"]) as c,
        ):
            c.files.list()
        listed = _cli(target, "projects", "list")
        assert "alpha" in listed.stdout


def test_backups_keep_the_newest_and_restore(
    source: Server, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    """The restore drill of docs/data.md: back up on a schedule, keep N, restore the
    newest into a fresh server, and find everything there."""
    folder = tmp_path / "backups"
    for _ in range(3):
        done = _cli(source, "backup", str(folder), "--keep", "2")
        assert done.returncode == 0, done.stderr
    kept = sorted(folder.iterdir())
    assert len(kept) == 2
    assert all(p.name.startswith("assistantd-") and p.name.endswith(".tar.gz") for p in kept)
    with running_server("sqlite", tmp_path / "restored", route_env(upstream)) as restored:
        done = _cli(restored, "import", str(kept[-1]))
        assert done.returncode == 0, done.stderr
        _same(_everything(source), _everything(restored))


def test_another_server_is_walked_through_its_api(
    source: Server, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    """`import --from-api` against a second live server, pages of 7 so that every list
    takes several: the objects arrive with their ids, Files with their bytes, and the
    stores' files are ingested again here and found by search."""
    before = _everything(source)
    with running_server("postgres", tmp_path / "walked", route_env(upstream)) as target:
        mapping = tmp_path / "mapping.json"
        done = _cli(
            target, "import", "--from-api", f"{source.base_url}/v1", "--api-key", "sk-peer",
            "--page-size", "7", "--mapping", str(mapping),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(mapping.read_text()) == {}  # assistantd's ids are kept as they are
        with make_client(target.base_url) as c:
            for store in _listing(c, "/vector_stores"):
                for _ in range(200):
                    if c.vector_stores.retrieve(store["id"]).status == "completed":
                        break
                    time.sleep(0.1)
        after = _everything(target)
        again = _cli(target, "import", "--from-api", f"{source.base_url}/v1", "--page-size", "50")
        assert again.returncode == 0, again.stderr  # a second walk adds nothing
        assert _everything(target)["threads"] == after["threads"]
    for key in ("assistants", "threads", "files"):
        assert after[key] == before[key], key
    for thread in before["threads"]:
        tid = thread["id"]
        assert after[tid]["messages"] == before[tid]["messages"]
        assert [r["id"] for r in after[tid]["runs"]] == [r["id"] for r in before[tid]["runs"]]
    for f in before["files"]:
        assert after[f["id"]] == before[f["id"]]
    for store in before["stores"]:
        for q in QUERIES:
            found = {(h[0], h[1]) for h in after[f"{store['id']}:{q}"]}
            assert found == {(h[0], h[1]) for h in before[f"{store['id']}:{q}"]}


def test_a_peer_that_cannot_be_walked_is_refused(source: Server, tmp_path: Path) -> None:
    with running_server("sqlite", tmp_path / "nowhere") as target:
        done = _cli(target, "import", "--from-api", "http://127.0.0.1:9/v1", "--api-key", "k")
        assert done.returncode == 2
        assert "error:" in done.stderr
        both = _cli(target, "import", str(tmp_path), "--from-api", f"{source.base_url}/v1")
        assert both.returncode == 2


class _OpenAIShapedPeer:
    """A peer as OpenAI was: random ids, no thread listing, a Bearer key required.
    It serves a thread of two messages, a run with a step, a File and a store of it."""

    KEY = "sk-peer-secret"

    def __init__(self) -> None:
        from tests.upstream import free_port

        self.port = free_port()
        t = 1_700_000_000
        self.objects = {
            "assistant": {"id": "asst_Qx7", "object": "assistant", "created_at": t,
                          "name": "Old", "model": "gpt-4o", "instructions": "Be kind.",
                          "tools": [{"type": "file_search"}], "metadata": {},
                          "description": None, "temperature": 1.0, "top_p": 1.0,
                          "response_format": "auto",
                          "tool_resources": {"file_search": {"vector_store_ids": ["vs_Z9"]}}},
            "thread": {"id": "thread_aB3", "object": "thread", "created_at": t + 1,
                       "metadata": {}, "tool_resources": {}},
            "file": {"id": "file-k2", "object": "file", "created_at": t, "bytes": 14,
                     "filename": "notes.txt", "purpose": "assistants", "status": "processed",
                     "expires_at": None, "status_details": None},
            "store": {"id": "vs_Z9", "object": "vector_store", "created_at": t, "name": "n",
                      "usage_bytes": 0, "status": "completed",
                      "expires_at": None, "last_active_at": t, "metadata": {},
                      "file_counts": {"in_progress": 0, "completed": 1, "failed": 0,
                                      "cancelled": 0, "total": 1}},
        }  # fmt: skip
        thread = "thread_aB3"
        self.messages = [
            {"id": f"msg_{n}", "object": "thread.message", "created_at": t + 1 + n,
             "assistant_id": "asst_Qx7" if role == "assistant" else None, "thread_id": thread,
             "run_id": "run_r1" if role == "assistant" else None, "status": "completed",
             "incomplete_details": None, "completed_at": t + 1 + n, "incomplete_at": None,
             "role": role, "content": [{"type": "text", "text": {"value": text,
                                                                  "annotations": []}}],
             "attachments": [], "metadata": {}}
            for n, (role, text) in enumerate((("user", "Hi"), ("assistant", "Hello")))
        ]  # fmt: skip
        self.run = {"id": "run_r1", "object": "thread.run", "created_at": t + 2,
                    "assistant_id": "asst_Qx7", "thread_id": thread, "status": "completed",
                    "started_at": t + 2, "expires_at": None, "cancelled_at": None,
                    "failed_at": None, "completed_at": t + 3, "required_action": None,
                    "last_error": None, "model": "gpt-4o", "instructions": "Be kind.",
                    "tools": [], "metadata": {}, "incomplete_details": None, "usage": None,
                    "temperature": 1.0, "top_p": 1.0, "max_prompt_tokens": None,
                    "max_completion_tokens": None,
                    "truncation_strategy": {"type": "auto", "last_messages": None},
                    "response_format": "auto", "tool_choice": "auto",
                    "parallel_tool_calls": True}  # fmt: skip
        self.step = {"id": "step_s1", "object": "thread.run.step", "created_at": t + 2,
                     "run_id": "run_r1", "assistant_id": "asst_Qx7", "thread_id": thread,
                     "type": "message_creation", "status": "completed", "cancelled_at": None,
                     "completed_at": t + 3, "expired_at": None, "failed_at": None,
                     "last_error": None, "usage": None, "metadata": None,
                     "step_details": {"type": "message_creation",
                                      "message_creation": {"message_id": "msg_1"}}}  # fmt: skip

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        def page(data: list[Any]) -> JSONResponse:
            return JSONResponse({"object": "list", "data": data, "has_more": False})

        def guarded(make: Any) -> Any:
            async def endpoint(request: Request) -> Response:
                if request.headers.get("authorization") != f"Bearer {self.KEY}":
                    return JSONResponse({"error": {"message": "bad key"}}, status_code=401)
                answer: Response = make(request)
                return answer

            return endpoint

        o = self.objects
        routes = [
            Route("/v1/assistants", guarded(lambda r: page([o["assistant"]]))),
            Route("/v1/threads", guarded(lambda r: JSONResponse({}, status_code=404))),
            Route("/v1/threads/thread_aB3", guarded(lambda r: JSONResponse(o["thread"]))),
            Route("/v1/threads/thread_aB3/messages", guarded(lambda r: page(self.messages))),
            Route("/v1/threads/thread_aB3/runs", guarded(lambda r: page([self.run]))),
            Route("/v1/threads/thread_aB3/runs/run_r1/steps", guarded(lambda r: page([self.step]))),
            Route("/v1/files", guarded(lambda r: page([o["file"]]))),
            Route("/v1/files/file-k2/content", guarded(lambda r: Response(b"peer notes tea"))),
            Route("/v1/vector_stores", guarded(lambda r: page([o["store"]]))),
            Route("/v1/vector_stores/vs_Z9/files", guarded(lambda r: page([
                {"id": "file-k2", "object": "vector_store.file", "created_at": 1,
                 "vector_store_id": "vs_Z9", "status": "completed", "usage_bytes": 14,
                 "last_error": None, "chunking_strategy": {"type": "static", "static": {
                     "max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}},
                 "attributes": {}}]))),
        ]  # fmt: skip
        return Starlette(routes=routes)


def test_a_peer_with_openai_ids_arrives_with_new_ones_and_a_mapping(
    upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    import uvicorn

    peer = _OpenAIShapedPeer()
    config = uvicorn.Config(peer.app(), port=peer.port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    runner = threading.Thread(target=server.run, daemon=True)
    runner.start()
    while not server.started:
        time.sleep(0.02)
    try:
        with running_server("sqlite", tmp_path / "from-openai", route_env(upstream)) as target:
            base = f"http://127.0.0.1:{peer.port}/v1"
            refused = _cli(target, "import", "--from-api", base, "--api-key", peer.KEY)
            assert refused.returncode == 2
            assert "--thread-id" in refused.stderr  # it cannot list threads
            wrong = _cli(target, "import", "--from-api", base, "--api-key", "nope",
                         "--thread-id", "thread_aB3")  # fmt: skip
            assert "refused the API key" in wrong.stderr
            missing = _cli(target, "import", "--from-api", base, "--api-key", peer.KEY,
                           "--thread-id", "thread_gone")  # fmt: skip
            assert missing.returncode == 2
            assert "thread thread_gone: 404" in missing.stderr
            mapping_file = tmp_path / "mapping.json"
            done = _cli(target, "import", "--from-api", base, "--api-key", peer.KEY,
                        "--thread-id", "thread_aB3", "--mapping", str(mapping_file))  # fmt: skip
            assert done.returncode == 0, done.stderr
            mapping = json.loads(mapping_file.read_text())
            assert set(mapping) == {"asst_Qx7", "thread_aB3", "msg_0", "msg_1", "run_r1",
                                    "step_s1", "file-k2", "vs_Z9"}  # fmt: skip
            with make_client(target.base_url) as c:
                thread = mapping["thread_aB3"]
                listed = c.beta.threads.messages.list(thread, order="asc").data
                assert [m.id for m in listed] == [mapping["msg_0"], mapping["msg_1"]]
                assert listed[1].run_id == mapping["run_r1"]
                assert listed[1].assistant_id == mapping["asst_Qx7"]
                assistant = c.beta.assistants.retrieve(mapping["asst_Qx7"])
                stores = assistant.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
                assert stores == [mapping["vs_Z9"]]
                (step,) = c.beta.threads.runs.steps.list(mapping["run_r1"], thread_id=thread).data
                assert step.step_details.message_creation.message_id == mapping["msg_1"]  # type: ignore[union-attr]
                assert c.files.content(mapping["file-k2"]).read() == b"peer notes tea"
                for _ in range(200):
                    store = c.vector_stores.retrieve(mapping["vs_Z9"])
                    if store.status == "completed":
                        break
                    time.sleep(0.1)
                assert store.file_counts.completed == 1
                hits = c.vector_stores.search(store.id, query="tea").data
                assert hits[0].file_id == mapping["file-k2"]
    finally:
        server.should_exit = True
        runner.join(timeout=10)
