"""Runs never hang: expiry of unanswered tool calls, restarts, a worker killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

from tests.conftest import make_client
from tests.servers import Server, database
from tests.upstream import Reply, ScriptedUpstream, route_env


def _server(url: str, tmp: Path, env: dict[str, str]) -> Server:
    return Server(database_url=url, data_dir=tmp, env=env).start()


def _setup(client: openai.OpenAI) -> tuple[str, str]:
    assistant = client.beta.assistants.create(
        model="scripted-gpt",
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "go"}])
    return assistant.id, thread.id


def _wait_status(
    client: openai.OpenAI, thread_id: str, run_id: str, status: str, timeout: float = 20
) -> openai.types.beta.threads.Run:
    deadline = time.monotonic() + timeout
    while True:
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        if run.status == status or time.monotonic() > deadline:
            return run
        time.sleep(0.1)


def test_unanswered_tool_calls_expire(
    backend: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    env = {
        **route_env(upstream),
        "ASSISTANTD_REQUIRES_ACTION_TTL_S": "1",
        "ASSISTANTD_RUN_STALE_S": "3",
    }
    with database(backend, tmp_path) as url:
        server = _server(url, tmp_path, env)
        try:
            with make_client(server.base_url) as client:
                upstream.script(Reply(tool_calls=[("f", "{}")]))
                assistant_id, thread_id = _setup(client)
                run = client.beta.threads.runs.create_and_poll(
                    thread_id=thread_id, assistant_id=assistant_id
                )
                assert run.status == "requires_action"
                assert run.expires_at is not None
                expired = _wait_status(client, thread_id, run.id, "expired")
                assert expired.status == "expired"
                assert expired.required_action is None
                step = client.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data[0]
                assert step.status == "expired"
                assert step.expired_at is not None
                with pytest.raises(openai.BadRequestError):
                    client.beta.threads.runs.submit_tool_outputs(
                        run.id,
                        thread_id=thread_id,
                        tool_outputs=[
                            {
                                "tool_call_id": run.required_action.submit_tool_outputs.tool_calls[
                                    0
                                ].id,
                                "output": "x",
                            }
                        ],  # type: ignore[union-attr]
                    )
        finally:
            server.stop()


def test_queued_run_survives_a_restart(
    backend: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    with database(backend, tmp_path) as url:
        # No workers: the run stays queued while this server lives.
        idle = _server(url, tmp_path, {**route_env(upstream), "ASSISTANTD_WORKERS": "0"})
        try:
            with make_client(idle.base_url) as client:
                assistant_id, thread_id = _setup(client)
                run = client.beta.threads.runs.create(
                    thread_id=thread_id, assistant_id=assistant_id
                )
                time.sleep(0.5)
                assert (
                    client.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status
                    == "queued"
                )
        finally:
            idle.stop()
        upstream.script(Reply(text="done after restart"))
        busy = _server(url, tmp_path, route_env(upstream))
        try:
            with make_client(busy.base_url) as client:
                final = client.beta.threads.runs.poll(run.id, thread_id=thread_id)
                assert final.status == "completed"
        finally:
            busy.stop()


def test_killed_worker_leaves_the_run_failed_not_hanging(
    backend: str, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    env = {**route_env(upstream), "ASSISTANTD_RUN_STALE_S": "2"}
    with database(backend, tmp_path) as url:
        first = _server(url, tmp_path, env)
        with make_client(first.base_url) as client:
            assistant_id, thread_id = _setup(client)
            upstream.script(Reply(text="never finished " * 50, token_delay_s=0.1))
            run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
            assert _wait_status(client, thread_id, run.id, "in_progress").status == "in_progress"
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        first.stop()
        second = _server(url, tmp_path, env)
        try:
            with make_client(second.base_url) as client:
                final = _wait_status(client, thread_id, run.id, "failed", timeout=30)
                assert final.status == "failed"
                assert final.last_error is not None
                assert final.last_error.code == "server_error"
                # The thread is usable again.
                client.beta.threads.messages.create(thread_id, role="user", content="again")
        finally:
            second.stop()


def test_worker_command_executes_runs(upstream: ScriptedUpstream, tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        api = _server(url, tmp_path, {**route_env(upstream), "ASSISTANTD_WORKERS": "0"})
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistantd",
                "worker",
                "--database-url",
                url,
                "--concurrency",
                "2",
            ],
            env={**os.environ, **route_env(upstream)},
        )
        try:
            with make_client(api.base_url) as client:
                upstream.script(Reply(text="from the worker process"))
                assistant_id, thread_id = _setup(client)
                run = client.beta.threads.runs.create_and_poll(
                    thread_id=thread_id, assistant_id=assistant_id
                )
                assert run.status == "completed"
        finally:
            worker.terminate()
            worker.wait(timeout=20)
            api.stop()
