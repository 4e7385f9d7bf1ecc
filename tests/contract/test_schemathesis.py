"""Schemathesis over every implemented operation of the official spec subset.

Generated requests, valid and not, go to a real server; every answer must be a
non-5xx, and every documented (2xx) answer must match its response schema. Examples
are bounded and derandomized, so the run is the same on every machine and takes about
a minute on two cores. Vector stores are fuzzed too.
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

_spec = copy.deepcopy(spec_schema._spec())  # first_id/last_id nullable, as OpenAI answered
# Responses run models; they are fuzzed beside a scripted upstream (test_schemathesis_responses.py).
schema = schemathesis.openapi.from_dict(_spec).exclude(path_regex="^/responses")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Runs created by the fuzzer must not keep the embedded model busy: no workers.
    env = {"ASSISTANTD_WORKERS": "0"}
    with running_server("sqlite", tmp_path_factory.mktemp("fuzzed"), env) as srv:
        yield srv


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_operation_never_fails_and_answers_its_schema(
    case: schemathesis.Case, fuzzed: Server
) -> None:
    case.call_and_validate(
        base_url=f"{fuzzed.base_url}/v1",
        headers={"Authorization": "Bearer sk-fuzz"},
        checks=[not_a_server_error, response_schema_conformance],
        timeout=30,
    )
