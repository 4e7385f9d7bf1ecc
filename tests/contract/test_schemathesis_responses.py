"""Schemathesis over the Responses operations of the official spec.

As for the Assistants operations (test_schemathesis.py): generated requests, valid and
not, go to a real server; no answer may be a 5xx, and every 2xx must match its schema.
A response runs a model, so every model name is routed to a scripted upstream that
answers at once, and the server has workers to run them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.contract import schema as spec_schema
from tests.servers import Server, running_server
from tests.upstream import ScriptedUpstream, route_env

_spec = copy.deepcopy(spec_schema._spec())
schema = schemathesis.openapi.from_dict(_spec).include(path_regex="^/responses")


@pytest.fixture(scope="module")
def fuzzed_responses(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = route_env(upstream, match="*")
    with running_server("sqlite", tmp_path_factory.mktemp("fuzzed-responses"), env) as srv:
        yield srv


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_a_responses_operation_never_fails_and_answers_its_schema(
    case: schemathesis.Case, fuzzed_responses: Server
) -> None:
    case.call_and_validate(
        base_url=f"{fuzzed_responses.base_url}/v1",
        headers={"Authorization": "Bearer sk-fuzz"},
        checks=[not_a_server_error, response_schema_conformance],
        timeout=30,
    )
