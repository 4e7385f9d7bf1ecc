"""Two API processes and two workers on one PostgreSQL and one Redis: any process streams
any run, any worker executes it, each event arrives once and in order, and a killed
process loses nothing that was committed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import openai
import orjson
import pytest
from sqlalchemy.engine import make_url

from tests.cluster import Cluster, running_cluster
from tests.conftest import make_async_client, make_client
from tests.contract.sse import Event, read_events, validate
from tests.scaleout.metrics import scrape, value
from tests.upstream import Reply, ScriptedUpstream, route_env

MODEL = "scripted-cluster"


@pytest.fixture(scope="module")
def cluster(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    env = {
        **route_env(upstream),
        "ASSISTANTD_RUN_STALE_S": "3",
        "ASSISTANTD_KEY_CACHE_TTL_S": "0.5",
    }
    with running_cluster(tmp_path_factory.mktemp("cluster"), env, concurrency=32) as c:
        yield c


@contextmanager
def clients_of(cluster: Cluster) -> Iterator[list[openai.OpenAI]]:
    """An SDK client per API process, closed after."""
    with ExitStack() as stack:
        yield [stack.enter_context(make_client(api.base_url)) for api in cluster.apis]


def db_rows(cluster: Cluster, sql: str, *args: Any) -> list[asyncpg.Record]:
    dsn = make_url(cluster.database_url).set(drivername="postgresql").render_as_string(False)

    async def query() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(query())


def resume(
    base_url: str, thread_id: str, run_id: str, after: int, header: bool = False
) -> list[Event]:
    path = f"{base_url}/v1/threads/{thread_id}/runs/{run_id}/events"
    params = {} if header else {"after": str(after)}
    headers = {"last-event-id": str(after)} if header else {}
    with httpx.stream("GET", path, params=params, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        return read_events(response, time.monotonic())


def assert_contiguous(events: list[Event], first: int) -> None:
    seqs = [e.seq for e in events if e.name != "done"]
    assert seqs == list(range(first, first + len(seqs))), seqs


def test_a_run_created_on_one_api_streams_from_the_other_every_event_once_in_order(
    cluster: Cluster, upstream: ScriptedUpstream
) -> None:
    upstream.script(
        *(Reply(text="one two three four five six seven", token_delay_s=0.02) for _ in range(6))
    )
    with clients_of(cluster) as (a, b):
        _stream_six_runs_across(cluster, upstream, a, b)


def _stream_six_runs_across(
    cluster: Cluster, upstream: ScriptedUpstream, a: openai.OpenAI, b: openai.OpenAI
) -> None:
    assistant = a.beta.assistants.create(model=MODEL)
    for _ in range(6):
        thread = a.beta.threads.create(messages=[{"role": "user", "content": "count"}])
        run = a.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        events = resume(cluster.apis[1].base_url, thread.id, run.id, after=0)
        validate(events)
        assert_contiguous(events, 1)
        names = [e.name for e in events]
        assert names[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
        assert names[-2:] == ["thread.run.completed", "done"]
        text = "".join(
            part["text"]["value"]
            for e in events
            if e.name == "thread.message.delta"
            for part in e.data["delta"]["content"]
        )
        assert text == "one two three four five six seven"
        # The stream's final snapshots are what GET returns, on either process.
        final_run = events[-2].data
        assert final_run == orjson.loads(
            b.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread.id).content
        )
        message = next(e.data for e in reversed(events) if e.name == "thread.message.completed")
        got = a.beta.threads.messages.with_raw_response.retrieve(message["id"], thread_id=thread.id)
        assert orjson.loads(got.content) == message
    # Executed by the workers (the API processes have no slots), each run once.
    rows = db_rows(cluster, "SELECT worker, count(*) FROM runs GROUP BY worker")
    assert all(r["worker"] and r["worker"].count("-") >= 2 for r in rows)
    assert sum(r["count"] for r in rows) == 6
    assert len(upstream.requests) == 6


def test_a_stream_opened_with_the_sdk_on_one_api_sees_the_run_a_worker_executes(
    cluster: Cluster, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply(text="streamed through redis"))
    with clients_of(cluster) as (client, _):
        assistant = client.beta.assistants.create(model=MODEL)
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        _stream_with_the_sdk(client, assistant.id, thread.id)


def _stream_with_the_sdk(client: openai.OpenAI, assistant_id: str, thread_id: str) -> None:
    with client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream:
        stream.until_done()
        final = stream.get_final_run()
        text = "".join(m.content[0].text.value for m in stream.get_final_messages())  # type: ignore[union-attr]
    assert final.status == "completed"
    assert text == "streamed through redis"


def test_200_concurrent_streamed_runs_over_two_api_processes_all_complete(cluster: Cluster) -> None:
    clients = [make_async_client(api.base_url) for api in cluster.apis]

    async def one(i: int, assistant_id: str) -> str:
        client = clients[i % 2]
        stream = await client.beta.threads.create_and_run(
            assistant_id=assistant_id,
            thread={"messages": [{"role": "user", "content": f"run {i}"}]},
            stream=True,
        )
        last = None
        async for event in stream:
            last = event
        assert last is not None
        return last.event

    async def main() -> list[str]:
        assistant = await clients[0].beta.assistants.create(model=MODEL)
        try:
            return await asyncio.gather(*(one(i, assistant.id) for i in range(200)))
        finally:
            for client in clients:
                await client.close()

    ends = asyncio.run(main())
    assert ends == ["thread.run.completed"] * 200


def test_an_unknown_or_foreign_run_has_no_events_and_a_bad_cursor_is_a_400(
    cluster: Cluster,
) -> None:
    base = cluster.apis[0].base_url
    with clients_of(cluster) as (client, _):
        thread = client.beta.threads.create()
    missing = httpx.get(f"{base}/v1/threads/{thread.id}/runs/run_{'0' * 24}/events")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "invalid_request_error"
    bad = httpx.get(
        f"{base}/v1/threads/{thread.id}/runs/run_{'0' * 24}/events",
        headers={"last-event-id": "seven"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "Last-Event-ID"


def test_metrics_on_one_api_process_count_what_every_process_did(
    cluster: Cluster, upstream: ScriptedUpstream
) -> None:
    before = scrape(cluster.apis[0].base_url)
    upstream.script(*(Reply(text="counted") for _ in range(4)))
    with clients_of(cluster) as clients:
        assistant = clients[0].beta.assistants.create(model=MODEL)
        for i in range(4):
            clients[i % 2].beta.threads.create_and_run_poll(
                assistant_id=assistant.id, poll_interval_ms=50
            )
    after = scrape(cluster.apis[0].base_url)  # runs ran on the workers, half the calls on B

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("assistantd_runs_finished_total", status="completed") == 4
    # Labelled by the route that served it, never by the client's model string.
    assert grew("assistantd_model_tokens_total", model="scripted*", direction="in") == 44
    assert not any(labels and ("model", MODEL) in labels for _, labels in after)
    route = "/v1/threads/runs"
    assert grew("assistantd_http_requests_total", method="POST", route=route, status="200") == 4
    assert value(after, "assistantd_active_streams") == 0
    assert value(after, "assistantd_runs_queued") == 0
    health = httpx.get(f"{cluster.apis[1].base_url}/health").json()
    assert health == {"status": "ok", "database": "ok", "redis": "ok"}


def test_rate_limits_are_shared_by_every_api_process(cluster: Cluster) -> None:
    result = cluster.apis[0].cli("projects", "limits", "default", "--requests-per-minute", "60")
    assert result.returncode == 0, result.stderr
    time.sleep(0.7)  # past the limits cache
    try:
        answers = []
        started = time.monotonic()
        for i in range(150):
            response = httpx.get(f"{cluster.apis[i % 2].base_url}/v1/assistants")
            answers.append(response.status_code)
            if response.status_code == 429:
                assert response.headers["x-ratelimit-limit-requests"] == "60"
                assert int(response.headers["retry-after-ms"]) <= 1000
                break
        # One bucket for both processes: 60 in all (plus one a second of refill), not
        # 60 each.
        refilled = time.monotonic() - started
        assert answers[-1] == 429
        assert 60 <= len(answers) - 1 <= 60 + refilled + 1
        assert answers.count(429) == 1
        with make_client(cluster.apis[1].base_url) as client:
            client.max_retries = 3
            listed = client.beta.assistants.with_raw_response.list()
        assert listed.retries_taken >= 1
    finally:
        cluster.apis[0].cli("projects", "limits", "default")
        time.sleep(0.7)


@pytest.fixture
def fragile_cluster(upstream: ScriptedUpstream, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of its own, for tests that kill its processes. Its pools are small: it
    runs beside the module's cluster (whose pools the 200-stream test filled) on one
    PostgreSQL of 100 connections, and a test's own queries need one more."""
    env = {
        **route_env(upstream, timeout_s=30),
        "ASSISTANTD_RUN_STALE_S": "3",
        "ASSISTANTD_KEY_CACHE_TTL_S": "1",
        "ASSISTANTD_DB_POOL_SIZE": "2",
    }
    with running_cluster(tmp_path, env, concurrency=4) as c:
        yield c


def _wait_for(predicate: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_a_killed_worker_s_run_fails_within_the_stale_window_and_is_never_run_twice(
    fragile_cluster: Cluster, upstream: ScriptedUpstream
) -> None:
    cluster = fragile_cluster
    upstream.script(Reply(text="slow " * 200, token_delay_s=0.05))
    with clients_of(cluster) as (client, _):
        _kill_the_worker_mid_run(cluster, upstream, client)


def _kill_the_worker_mid_run(
    cluster: Cluster, upstream: ScriptedUpstream, client: openai.OpenAI
) -> None:
    assistant = client.beta.assistants.create(model=MODEL)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "go"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    owner = _wait_for(
        lambda: db_rows(
            cluster, "SELECT worker FROM runs WHERE id = $1 AND status = 'in_progress'", run.id
        )
    )[0]["worker"]
    victim = next(w for w in cluster.workers if f"-{w.process.pid}-" in owner)  # type: ignore[union-attr]
    time.sleep(0.5)  # mid-answer
    victim.kill()
    killed_at = time.monotonic()
    ended = _wait_for(
        lambda: (
            (r := client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)).status
            not in ("in_progress", "queued")
            and r
        ),
        timeout_s=20,
    )
    assert ended.status == "failed"
    assert ended.last_error is not None
    assert ended.last_error.code == "server_error"
    assert "stopped before it finished" in ended.last_error.message
    assert time.monotonic() - killed_at < 3 + 2 + 2  # stale window, reaper period, slack
    # The surviving worker failed it; it never ran the model again.
    time.sleep(1)
    assert len(upstream.requests) == 1
    message = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert message.role == "assistant"
    assert message.status == "incomplete"


def test_a_killed_api_process_s_stream_resumes_on_the_other_with_no_gap(
    fragile_cluster: Cluster, upstream: ScriptedUpstream
) -> None:
    cluster = fragile_cluster
    words = [f"w{i}" for i in range(60)]
    upstream.script(Reply(text=" ".join(words), token_delay_s=0.03))
    with clients_of(cluster) as (a, _):
        assistant = a.beta.assistants.create(model=MODEL)
        thread = a.beta.threads.create(messages=[{"role": "user", "content": "go"}])
    body = {"assistant_id": assistant.id, "stream": True}
    seen: list[Event] = []
    with httpx.stream(
        "POST", f"{cluster.apis[0].base_url}/v1/threads/{thread.id}/runs", json=body, timeout=30
    ) as response:
        for event in _events_until(response, deltas=5):
            seen.append(event)
        cluster.kill_api(0)
    run_id = seen[0].data["id"]
    assert_contiguous(seen, 1)
    rest = resume(cluster.apis[1].base_url, thread.id, run_id, after=seen[-1].seq or 0, header=True)
    assert_contiguous(rest, (seen[-1].seq or 0) + 1)
    assert rest[-2].name == "thread.run.completed"
    text = "".join(
        part["text"]["value"]
        for e in seen + rest
        if e.name == "thread.message.delta"
        for part in e.data["delta"]["content"]
    )
    assert text == " ".join(words)
    with make_client(cluster.apis[1].base_url) as b:
        _assert_saved(b, thread.id, run_id, " ".join(words))


def _assert_saved(b: openai.OpenAI, thread_id: str, run_id: str, text: str) -> None:
    assert b.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status == "completed"
    saved = b.beta.threads.messages.list(thread_id=thread_id).data[0]
    assert saved.role == "assistant"
    assert saved.content[0].text.value == text  # type: ignore[union-attr]


def _events_until(response: httpx.Response, deltas: int) -> Iterator[Event]:
    name, seq, count = None, None, 0
    for line in response.iter_lines():
        if line.startswith("id: "):
            seq = int(line[4:])
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name:
            yield Event(name, line[6:], 0.0, seq)
            count += name == "thread.message.delta"
            if count >= deltas:
                return


def test_a_revoked_key_is_refused_by_every_process_within_the_cache_ttl(
    fragile_cluster: Cluster,
) -> None:
    cluster = fragile_cluster
    created = cluster.apis[0].cli("keys", "create", "--project", "team-a")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    key_id = created.stderr.split()[1]
    time.sleep(1.2)
    headers = {"authorization": f"Bearer {secret}"}
    for api in cluster.apis:
        assert httpx.get(f"{api.base_url}/v1/assistants", headers=headers).status_code == 200
    revoked = cluster.apis[1].cli("keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    revoked_at = time.monotonic()
    refused = set()
    while len(refused) < len(cluster.apis) and time.monotonic() - revoked_at < 10:
        for i, api in enumerate(cluster.apis):
            if httpx.get(f"{api.base_url}/v1/assistants", headers=headers).status_code == 401:
                refused.add(i)
        time.sleep(0.05)
    assert refused == {0, 1}
    assert time.monotonic() - revoked_at <= 1 + 1  # the TTL, and room for a slow request


def test_a_background_response_streams_and_resumes_on_the_other_api_process(
    cluster: Cluster, upstream: ScriptedUpstream
) -> None:
    """A response made on one API process, executed by any worker, streamed there,
    dropped, and resumed on the other process both ways, every event once."""
    upstream.script(Reply(text="one two three four five six seven eight", token_delay_s=0.02))
    with clients_of(cluster) as (first, second):
        stream = first.responses.create(model=MODEL, input="Count", background=True, stream=True)
        seen = []
        for event in stream:
            seen.append(event)
            if event.type == "response.output_text.delta":
                break
        stream.close()
        response_id, last = seen[0].response.id, seen[-1].sequence_number
        with second.responses.stream(response_id=response_id, starting_after=last) as resumed:
            rest = list(resumed)
            final = resumed.get_final_response()
        raw = list(second.responses.retrieve(response_id, stream=True, starting_after=last))
    assert final.output_text == "one two three four five six seven eight"
    seqs = [e.sequence_number for e in [*seen, *rest]]
    assert seqs == list(range(len(seqs)))
    assert [e.sequence_number for e in raw] == [e.sequence_number for e in rest]


def test_a_conversation_takes_one_response_at_a_time_across_processes(
    cluster: Cluster, upstream: ScriptedUpstream
) -> None:
    """A conversation made on one API process is answered on the other; two responses
    sent to it at once through both processes: one runs, the other is refused as a
    second run would be (the thread row is locked across processes), and the
    conversation holds exactly one turn of each kind more."""
    upstream.script(
        Reply(text="Noted."), Reply(text="slow answer", first_delay_s=1.0), Reply(text="x")
    )

    async def race(conversation: str) -> list[Any]:
        clients = [make_async_client(api.base_url) for api in cluster.apis]
        try:
            calls = [
                c.responses.create(
                    model=MODEL, conversation=conversation, input=f"from {i}", background=True
                )
                for i, c in enumerate(clients)
            ]
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            for c in clients:
                await c.close()

    with clients_of(cluster) as (first, second):
        conv = first.conversations.create(
            items=[{"type": "message", "role": "user", "content": "I am Ada."}]
        )
        made = second.responses.create(model=MODEL, conversation=conv.id, input="Remember.")
        assert made.output_text == "Noted."
        outcomes = asyncio.run(race(conv.id))
        refused = [o for o in outcomes if isinstance(o, openai.BadRequestError)]
        accepted = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(refused) == 1, outcomes
        assert refused[0].code == "thread_locked"
        (running,) = accepted
        for _ in range(100):
            if first.responses.retrieve(running.id).status == "completed":
                break
            time.sleep(0.1)
        items = first.conversations.items.list(conv.id, order="asc").data
    texts = [i.content[0].text for i in items]  # type: ignore[union-attr]
    assert texts[:3] == ["I am Ada.", "Remember.", "Noted."]
    assert len(texts) == 5  # one more question and its answer; the refused one wrote nothing
    assert texts[4] == "slow answer"
