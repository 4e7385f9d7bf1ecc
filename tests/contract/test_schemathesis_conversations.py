"""Schemathesis over the Conversations operations of the official spec.

As for the Assistants and Responses operations: generated requests, valid and not, go
to a real server; no answer may be a 5xx, and every 2xx must match its schema. Most
generated cases name one real conversation (made with items of several kinds), so that
lists, reads, writes and deletes reach real rows rather than stopping at a 404.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.contract import schema as spec_schema
from tests.servers import Server, running_server
from tests.upstream import ScriptedUpstream, route_env

_spec = copy.deepcopy(spec_schema._spec())
schema = schemathesis.openapi.from_dict(_spec).include(path_regex="^/conversations")
ITEMS = [
    {"type": "message", "role": "user", "content": "Hello"},
    {"type": "message", "role": "assistant", "content": "Hi."},
    {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
]


@pytest.fixture(scope="module")
def fuzzed_conversations(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, list[str]]]:
    env = route_env(upstream, match="*")
    tmp = tmp_path_factory.mktemp("fuzzed-conversations")
    with running_server("sqlite", tmp, env) as srv:
        made = []
        for _ in range(3):
            answer = httpx.post(f"{srv.base_url}/v1/conversations", json={"items": ITEMS})
            made.append(answer.json()["id"])
        yield srv, made


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_a_conversations_operation_never_fails_and_answers_its_schema(
    case: schemathesis.Case, fuzzed_conversations: tuple[Server, list[str]]
) -> None:
    server, made = fuzzed_conversations
    params = case.path_parameters or {}
    if "conversation_id" in params and zlib.crc32(str(params["conversation_id"]).encode()) % 4:
        params["conversation_id"] = made[zlib.crc32(str(params).encode()) % len(made)]
    case.call_and_validate(
        base_url=f"{server.base_url}/v1",
        headers={"Authorization": "Bearer sk-fuzz"},
        checks=[not_a_server_error, response_schema_conformance],
        timeout=30,
    )
