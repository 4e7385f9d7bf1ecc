"""A message created while the thread's run ends is accepted or refused as busy, never a 404."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import make_client
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env


@pytest.fixture(scope="module")
def race_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = route_env(upstream)
    with running_server(backend, tmp_path_factory.mktemp(f"race-{backend}"), env) as srv:
        yield srv


def test_create_while_the_run_ends_is_never_a_404(
    race_server: Server, upstream: ScriptedUpstream
) -> None:
    upstream.script(*[Reply(text="ok") for _ in range(12)])
    outcomes: list[object] = []
    with make_client(race_server.base_url) as client:
        assistant = client.beta.assistants.create(model="scripted-gpt")
        for _ in range(12):
            thread_id = client.beta.threads.create().id
            run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant.id)
            stop = threading.Event()

            def hammer(thread_id: str = thread_id, stop: threading.Event = stop) -> None:
                while not stop.is_set():
                    try:
                        client.beta.threads.messages.create(thread_id, role="user", content="x")
                        outcomes.append(200)
                        return  # the run ended: the thread took the message
                    except openai.BadRequestError as exc:
                        outcomes.append(f"400 {exc.code}")
                    except openai.APIStatusError as exc:
                        outcomes.append(exc.status_code)
                        return

            hammers = [threading.Thread(target=hammer) for _ in range(3)]
            for t in hammers:
                t.start()
            client.beta.threads.runs.poll(run.id, thread_id=thread_id, poll_interval_ms=20)
            for t in hammers:
                t.join(timeout=30)
            stop.set()
    assert set(outcomes) <= {200, "400 thread_locked"}, outcomes
    assert 200 in outcomes
