"""One process, no Redis: rate limits per process, metrics, JSON logs, health."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import orjson
import pytest

from tests.conftest import make_client
from tests.scaleout.metrics import scrape, value
from tests.servers import Server, free_port, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

MODEL = "scripted-limits"


@pytest.fixture
def limited(upstream: ScriptedUpstream, tmp_path: Path) -> Iterator[Server]:
    env = {
        **route_env(upstream),
        "ASSISTANTD_KEY_CACHE_TTL_S": "0.2",
        "ASSISTANTD_LOG_FORMAT": "json",
        "ASSISTANTD_ACCESS_LOG": "true",
        "ASSISTANTD_EMBEDDED_WARM_UP": "false",
    }
    with running_server("sqlite", tmp_path, env) as server:
        server.env["ASSISTANTD_ACCESS_LOG"] = "true"
        yield server


def _set_limits(server: Server, *args: str) -> None:
    result = server.cli("projects", "limits", "default", *args)
    assert result.returncode == 0, result.stderr
    time.sleep(0.3)  # past the cache TTL


def test_requests_past_the_limit_get_429_with_openai_s_headers(limited: Server) -> None:
    base = limited.base_url
    first = httpx.get(f"{base}/v1/assistants")
    assert "x-ratelimit-limit-requests" not in first.headers  # no limits set: no headers
    _set_limits(limited, "--requests-per-minute", "5")
    remaining = []
    for _ in range(5):
        response = httpx.get(f"{base}/v1/assistants")
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit-requests"] == "5"
        remaining.append(int(response.headers["x-ratelimit-remaining-requests"]))
        assert response.headers["x-ratelimit-reset-requests"].endswith("s")
    assert remaining == [4, 3, 2, 1, 0]
    refused = httpx.get(f"{base}/v1/assistants")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["type"] == "requests"
    assert error["code"] == "rate_limit_exceeded"
    assert error["param"] is None
    assert "requests per min (RPM)" in error["message"]
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert 10_000 <= int(refused.headers["retry-after-ms"]) <= 12_000  # 5/min: one per 12 s
    assert refused.headers["retry-after"] == "12"
    # The SDK maps it to its RateLimitError.
    with make_client(base) as client, pytest.raises(openai.RateLimitError):
        client.beta.assistants.list()
    # Removing the limits lifts them.
    _set_limits(limited)
    assert httpx.get(f"{base}/v1/assistants").status_code == 200


def test_the_sdk_retries_a_429_after_the_reset_and_succeeds(limited: Server) -> None:
    _set_limits(limited, "--requests-per-minute", "60")
    base = limited.base_url
    sent = 1
    started = time.monotonic()
    while httpx.get(f"{base}/v1/assistants").status_code == 200 and sent < 200:
        sent += 1
    assert 60 <= sent <= 61 + (time.monotonic() - started) + 1  # plus a second's refill
    # The bucket refills continuously: start the SDK's call just after a refill was
    # spent, so that its 429 asks it to wait most of a second (not a few milliseconds).
    # The probes go through the same (warm) client: a new one takes long to make.
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-test", max_retries=2)
    probe = client.with_options(max_retries=0)
    with client:
        for _ in range(20):
            try:
                probe.beta.assistants.list()
                continue  # a refill, now spent
            except openai.RateLimitError as refused:
                wait_ms = int(refused.response.headers["retry-after-ms"])
            if wait_ms >= 700:
                break
            time.sleep(wait_ms / 1000)
        started = time.monotonic()
        page = client.beta.assistants.with_raw_response.list()
    assert page.http_response.status_code == 200
    assert page.retries_taken >= 1
    assert time.monotonic() - started >= 0.3  # it waited for the bucket, not blindly


def test_model_tokens_per_minute_stop_new_runs_once_spent(
    limited: Server, upstream: ScriptedUpstream
) -> None:
    _set_limits(limited, "--tokens-per-minute", "30")
    upstream.script(Reply(text="a"), Reply(text="b"))  # each reports 11 + 7 tokens
    with make_client(limited.base_url) as client:
        assistant = client.beta.assistants.create(model=MODEL)
        thread = client.beta.threads.create()
        for _ in range(2):
            run = client.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
            )
            assert run.status == "completed"
        raw = httpx.post(
            f"{limited.base_url}/v1/threads/{thread.id}/runs", json={"assistant_id": assistant.id}
        )
    assert raw.status_code == 429
    assert raw.json()["error"]["type"] == "tokens"
    assert raw.headers["x-ratelimit-limit-tokens"] == "30"
    assert raw.headers["x-ratelimit-remaining-tokens"] == "0"
    # Requests that do not start a model turn still pass, and show the token level.
    listed = httpx.get(f"{limited.base_url}/v1/threads/{thread.id}/runs")
    assert listed.status_code == 200
    assert listed.headers["x-ratelimit-remaining-tokens"] == "0"
    assert len(upstream.requests) == 2  # the refused run never reached the model


def test_limits_are_validated_by_the_command_line(limited: Server) -> None:
    bad = limited.cli("projects", "limits", "default", "--requests-per-minute", "0")
    assert bad.returncode == 2
    assert "requests_per_minute must be at least 1" in bad.stderr
    worse = limited.cli("projects", "limits", "no spaces", "--requests-per-minute", "5")
    assert worse.returncode == 2
    assert limited.cli("projects", "limits", "p1", "--tokens-per-minute", "9").returncode == 0
    listing = limited.cli("projects", "list")
    assert listing.stdout.strip() == "p1\trequests/min -\ttokens/min 9"


def test_json_logs_carry_the_request_id_project_and_run(
    limited: Server, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply(text="logged"))
    with make_client(limited.base_url) as client:
        assistant = client.beta.assistants.create(model=MODEL)
        thread = client.beta.threads.create()
        raw = client.beta.threads.runs.with_raw_response.create(
            thread_id=thread.id, assistant_id=assistant.id
        )
        run = raw.parse()
        client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=50)
    request_id = raw.headers["x-request-id"]
    time.sleep(0.2)
    lines = (limited.data_dir / "server.log").read_text().splitlines()
    records = [orjson.loads(line) for line in lines]  # every line is JSON
    access = [r for r in records if r["request_id"] == request_id]
    assert access
    assert access[-1]["logger"] == "assistantd.access"
    assert access[-1]["project"] == "default"
    finished = [r for r in records if r["logger"] == "assistantd.runs" and r["run_id"] == run.id]
    assert finished
    assert finished[0]["message"] == f"run {run.id} completed"
    assert finished[0]["project"] == "default"


def test_metrics_count_what_the_process_did(limited: Server, upstream: ScriptedUpstream) -> None:
    before = scrape(limited.base_url)
    upstream.script(*(Reply(text="m") for _ in range(3)))
    with make_client(limited.base_url) as client:
        for n in range(3):  # three client-chosen names, one configured route
            assistant = client.beta.assistants.create(model=f"{MODEL}-tenant-{n}")
            client.beta.threads.create_and_run_poll(assistant_id=assistant.id, poll_interval_ms=50)
    after = scrape(limited.base_url)
    runs = "assistantd_runs_finished_total"
    assert value(after, runs, status="completed") - value(before, runs, status="completed") == 3
    tokens = "assistantd_model_tokens_total"
    assert value(after, tokens, model="scripted*", direction="in") == 33
    assert value(after, tokens, model="scripted*", direction="out") == 21
    models = {dict(labels).get("model") for name, labels in after if name == tokens}
    assert models == {"scripted*"}, "a client's model string became a series"
    created = value(
        after,
        "assistantd_http_requests_total",
        method="POST",
        route="/v1/threads/runs",
        status="200",
    )
    assert created == 3
    assert value(after, "assistantd_run_queue_wait_seconds_count") >= 3
    assert value(after, "assistantd_runs_queued") == 0
    assert (("assistantd_ingestion_backlog", ())) in after


def test_health_names_what_it_checked(limited: Server) -> None:
    assert httpx.get(f"{limited.base_url}/health").json() == {"status": "ok", "database": "ok"}


def test_limits_are_not_enforced_rather_than_fail_when_their_store_is_down(
    upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    env = {
        **route_env(upstream),
        "ASSISTANTD_KEY_CACHE_TTL_S": "0.2",
        "ASSISTANTD_EMBEDDED_WARM_UP": "false",
        # Nothing listens there: events, wake-ups and limits all fail to reach Redis.
        "ASSISTANTD_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    with running_server("sqlite", tmp_path, env) as server:
        health = httpx.get(f"{server.base_url}/health")
        assert health.status_code == 503
        assert health.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}
        _set_limits(server, "--requests-per-minute", "1")
        for _ in range(3):
            response = httpx.get(f"{server.base_url}/v1/assistants")
            assert response.status_code == 200
            assert "x-ratelimit-limit-requests" not in response.headers
        log = (server.data_dir / "server.log").read_text()
        assert log.count("rate limits not applied") == 1


def test_a_worker_with_no_run_slots_refuses_to_start(limited: Server) -> None:
    """API processes run with ASSISTANTD_WORKERS=0; a worker that inherits it must say so
    and stop, not start and silently execute nothing."""
    env = {**os.environ, **limited.env, "ASSISTANTD_WORKERS": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "assistantd", "worker", "--database-url", limited.database_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "a worker needs at least 1" in done.stderr
    assert "--concurrency" in done.stderr


def test_a_clean_shutdown_logs_no_error(tmp_path: Path) -> None:
    """SIGTERM with the embedded model's process up: its end is expected, not an ERROR."""
    env = {"ASSISTANTD_LOG_FORMAT": "json"}
    log = tmp_path / "server.log"
    with running_server("sqlite", tmp_path, env):
        deadline = time.monotonic() + 120
        while "embedded model process" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the embedded model never started"
            time.sleep(0.1)
    lines = [orjson.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any("stopped" in line["message"] for line in lines)
    errors = [line for line in lines if line["level"] in ("error", "critical")]
    assert errors == []


def test_chat_completions_spend_tokens_and_show_in_metrics(
    limited: Server, upstream: ScriptedUpstream
) -> None:
    """The model endpoints are limited and counted as runs are."""
    _set_limits(limited, "--tokens-per-minute", "30")
    before = scrape(limited.base_url)
    upstream.script(Reply(text="a"), Reply(text="b"))  # each reports 11 + 7 tokens
    messages = [{"role": "user", "content": "Hi"}]
    with make_client(limited.base_url) as client:
        for _ in range(2):
            client.chat.completions.create(model=f"{MODEL}-tenant", messages=messages)  # type: ignore[list-item]
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[list-item]
    assert refused.value.type == "tokens"
    assert len(upstream.requests) == 2  # the refused request never reached the model
    after = scrape(limited.base_url)
    tokens = "assistantd_model_tokens_total"
    spent_in = value(after, tokens, model="scripted*", direction="in")
    assert spent_in - value(before, tokens, model="scripted*", direction="in") == 22
    created = value(
        after,
        "assistantd_http_requests_total",
        method="POST",
        route="/v1/chat/completions",
        status="200",
    )
    assert created == 2


def test_responses_spend_tokens_and_show_in_metrics(
    limited: Server, upstream: ScriptedUpstream
) -> None:
    """Responses are limited and counted as runs are."""
    _set_limits(limited, "--tokens-per-minute", "30")
    before = scrape(limited.base_url)
    upstream.script(Reply(text="a"), Reply(text="b"))  # each reports 11 + 7 tokens
    with make_client(limited.base_url) as client:
        for _ in range(2):
            client.responses.create(model=f"{MODEL}-tenant", input="Hi")
        with pytest.raises(openai.RateLimitError) as refused:
            client.responses.create(model=MODEL, input="Hi")
    assert refused.value.type == "tokens"
    assert len(upstream.requests) == 2
    after = scrape(limited.base_url)
    tokens = "assistantd_model_tokens_total"
    spent_in = value(after, tokens, model="scripted*", direction="in")
    assert spent_in - value(before, tokens, model="scripted*", direction="in") == 22
    created = value(
        after, "assistantd_http_requests_total", method="POST", route="/v1/responses", status="200"
    )
    assert created == 2
