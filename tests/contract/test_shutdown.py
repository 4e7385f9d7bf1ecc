"""Stopping is graceful: SIGTERM lets runs in flight finish, and fails only what outlives
the grace period; streamed runs taken without slots are bounded like slots."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openai

from tests.conftest import make_client
from tests.servers import Server, database
from tests.upstream import Reply, ScriptedUpstream, route_env


@contextmanager
def _db(backend: str, tmp: Path) -> Iterator[str]:
    with database(backend, tmp) as url:
        yield url


def _start(url: str, tmp: Path, env: dict[str, str]) -> Server:
    return Server(database_url=url, data_dir=tmp, env=env).start()


def _in_progress(client: openai.OpenAI, thread_id: str, run_id: str) -> None:
    deadline = time.monotonic() + 20
    while client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status != "in_progress":
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.05)


def _begin(client: openai.OpenAI) -> tuple[str, str]:
    assistant = client.beta.assistants.create(model="scripted-gpt")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Count."}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    return thread.id, run.id


def _terminate(process: subprocess.Popen[bytes]) -> float:
    """SIGTERM; how long the process took to exit."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    return time.monotonic() - started


@contextmanager
def _sigterm_mid_run(
    backend: str, tmp: Path, env: dict[str, str]
) -> Iterator[tuple[openai.OpenAI, str, str, float]]:
    """Start a run, SIGTERM the server while it runs, start a new server on the same
    database; yields a client of the new one, the thread and run ids, and how long the
    first server took to exit."""
    with _db(backend, tmp) as url:
        server = _start(url, tmp, env)
        try:
            with make_client(server.base_url) as client:
                thread_id, run_id = _begin(client)
                _in_progress(client, thread_id, run_id)
            assert server.process is not None
            took = _terminate(server.process)
            assert server.process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises it
        finally:
            server.stop()
        again = _start(url, tmp, env)
        try:
            with make_client(again.base_url) as client:
                yield client, thread_id, run_id, took
        finally:
            again.stop()


def test_sigterm_lets_a_run_in_flight_finish(
    backend: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    env = {**route_env(upstream), "ASSISTANTD_SHUTDOWN_GRACE_S": "30"}
    words = "one two three four five six seven eight"
    upstream.script(Reply(text=words, token_delay_s=0.15))
    with _sigterm_mid_run(backend, tmp_path, env) as (client, thread_id, run_id, _took):
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        assert run.status == "completed", run.last_error
        answer = client.beta.threads.messages.list(thread_id).data[0]
        assert answer.content[0].text.value == words  # type: ignore[union-attr]


def test_runs_outliving_the_grace_period_fail_with_a_reason(
    backend: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    env = {**route_env(upstream, timeout_s=30), "ASSISTANTD_SHUTDOWN_GRACE_S": "1"}
    upstream.script(Reply(text="slow " * 60, token_delay_s=0.25))  # about 20 s
    with _sigterm_mid_run(backend, tmp_path, env) as (client, thread_id, run_id, took):
        assert took < 10  # the grace period, not the run
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        assert run.status == "failed"
        assert run.last_error is not None
        assert run.last_error.code == "server_error"
        assert "shut down" in run.last_error.message
        steps = client.beta.threads.runs.steps.list(run_id, thread_id=thread_id).data
        assert [s.status for s in steps] == ["failed"]
        answer = client.beta.threads.messages.list(thread_id).data[0]
        assert answer.status == "incomplete"
        assert answer.incomplete_details is not None
        assert answer.incomplete_details.reason == "run_failed"


def test_sigterm_to_a_worker_process_finishes_its_run(
    backend: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    env = {**route_env(upstream), "ASSISTANTD_WORKERS": "0", "ASSISTANTD_SHUTDOWN_GRACE_S": "30"}
    words = "alpha beta gamma delta epsilon"
    upstream.script(Reply(text=words, token_delay_s=0.15))
    with _db(backend, tmp_path) as url:
        server = _start(url, tmp_path, env)
        worker: subprocess.Popen[bytes] | None = None
        try:
            with make_client(server.base_url) as client:
                worker = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "assistantd",
                        "worker",
                        "--concurrency",
                        "2",
                        "--database-url",
                        url,
                    ],
                    env=server._env(),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                thread_id, run_id = _begin(client)
                _in_progress(client, thread_id, run_id)
                _terminate(worker)
                assert worker.returncode == 0
                run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
                assert run.status == "completed", run.last_error
        finally:
            if worker is not None and worker.poll() is None:
                worker.kill()
            server.stop()


def test_streamed_runs_without_slots_are_bounded(
    backend: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    env = {**route_env(upstream), "ASSISTANTD_WORKERS": "0", "ASSISTANTD_STREAMED_RUNS": "1"}
    upstream.script(
        Reply(text="first " * 10, token_delay_s=0.1), Reply(text="second " * 3, token_delay_s=0.01)
    )
    with _db(backend, tmp_path) as url:
        server = _start(url, tmp_path, env)
        try:
            with make_client(server.base_url) as client:
                assistant = client.beta.assistants.create(model="scripted-gpt")
                threads = [client.beta.threads.create().id for _ in range(2)]
                finals: dict[str, str] = {}

                def stream(thread_id: str) -> None:
                    with client.beta.threads.runs.stream(
                        thread_id=thread_id, assistant_id=assistant.id
                    ) as events:
                        events.until_done()
                        finals[thread_id] = events.get_final_run().status

                first = threading.Thread(target=stream, args=(threads[0],))
                first.start()
                while len(upstream.requests) < 1:
                    time.sleep(0.02)
                second = threading.Thread(target=stream, args=(threads[1],))
                second.start()
                time.sleep(0.3)
                # The first run holds the only place: the second waits, queued.
                (waiting,) = client.beta.threads.runs.list(threads[1]).data or [None]
                assert waiting is not None
                assert waiting.status == "queued"
                assert len(upstream.requests) == 1
                first.join(timeout=30)
                second.join(timeout=30)
                assert finals == {threads[0]: "completed", threads[1]: "completed"}
        finally:
            server.stop()


def test_sigterm_with_a_stream_open_finishes_the_stream(
    backend: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    env = {**route_env(upstream), "ASSISTANTD_SHUTDOWN_GRACE_S": "30"}
    words = "one two three four five six seven eight nine ten"
    upstream.script(Reply(text=words, token_delay_s=0.15))
    with _db(backend, tmp_path) as url:
        server = _start(url, tmp_path, env)
        try:
            assert server.process is not None
            with make_client(server.base_url) as client:
                assistant = client.beta.assistants.create(model="scripted-gpt")
                thread_id = client.beta.threads.create().id
                pieces: list[str] = []
                with client.beta.threads.runs.stream(
                    thread_id=thread_id, assistant_id=assistant.id
                ) as events:
                    for delta in events.text_deltas:
                        if not pieces:
                            server.process.send_signal(signal.SIGTERM)
                        pieces.append(delta)
                    final = events.get_final_run()
            assert final.status == "completed"
            assert "".join(pieces) == words
            server.process.wait(timeout=30)
        finally:
            server.stop()
