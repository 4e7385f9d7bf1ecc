"""A Response's `input_file` is parsed by the bounded parse workers, never in the API
process: one tenant's hostile Files (zip and entity bombs, deep PDF, binary text, a
one-token-per-byte text past the token limit) each end in a 400 that names the part
and the limit it broke, while another tenant's response is answered meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from tests.conftest import make_client
from tests.hostile import HOSTILE
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

CASES = {
    "bomb.docx": "unzipped",
    "laughs.docx": "could not be parsed",
    "deep.pdf": "nested too deeply",
    "binary.txt": "looks binary",
    "tokens-4mb.txt": "tokens",
}


@pytest.fixture(scope="module")
def files_server(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {
        **route_env(upstream, timeout_s=30),
        "ASSISTANTD_INGEST_MAX_TOKENS": "1000000",
        "ASSISTANTD_INGEST_MEMORY_MB": "512",
        "ASSISTANTD_INGEST_WORKERS": "2",
        "ASSISTANTD_EMBEDDED_WARM_UP": "false",
    }
    with running_server("sqlite", tmp_path_factory.mktemp("hostile-input"), env) as srv:
        yield srv


def _mint(server: Server, project: str) -> str:
    result = server.cli("keys", "create", "--project", project, "--name", project)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_hostile_input_files_fail_alone_while_a_bystander_is_answered(
    files_server: Server, upstream: ScriptedUpstream
) -> None:
    upstream.reset()
    attacker = make_client(files_server.base_url, _mint(files_server, "attacker"))
    bystander = make_client(files_server.base_url, _mint(files_server, "bystander"))
    uploaded = {}
    for name in CASES:
        made = HOSTILE[name]()
        data = made if isinstance(made, bytes) else b"".join(made)
        uploaded[name] = attacker.files.create(file=(name, data), purpose="user_data").id

    def attack(name: str) -> str:
        part = {"type": "input_file", "file_id": uploaded[name]}
        try:
            attacker.responses.create(
                model="scripted-gpt",
                input=[{"role": "user", "content": [part]}],  # type: ignore[list-item]
            )
        except openai.BadRequestError as refused:
            return f"{refused.param}: {refused.message}"
        return "answered"

    upstream.script(Reply(text="Still here."))
    with ThreadPoolExecutor(len(CASES)) as pool:
        outcomes = {name: pool.submit(attack, name) for name in CASES}
        answer = bystander.responses.create(model="scripted-gpt", input="Are you there?")
        assert answer.output_text == "Still here."
        for name, expected in CASES.items():
            message = outcomes[name].result(timeout=300)
            assert message.startswith("input[0].content[0].file_id: "), f"{name}: {message}"
            assert expected in message, f"{name}: {message}"
    assert len(upstream.requests) == 1  # no hostile File reached the model
    attacker.close()
    bystander.close()
