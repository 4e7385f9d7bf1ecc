"""Fixtures: a real server per database backend, and official SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from tests.contract import schema
from tests.servers import Server, running_server
from tests.upstream import ScriptedUpstream

BACKENDS = ("sqlite", "postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=(*BACKENDS, "all"),
        default="all",
        help="database backend(s) the suite runs against (default: all)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--backend")
        backends = BACKENDS if chosen == "all" else (chosen,)
        metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One open (no API keys) server per backend, shared by the tests that need no keys."""
    with running_server(backend, tmp_path_factory.mktemp(f"server-{backend}")) as srv:
        yield srv


def make_client(base_url: str, api_key: str = "sk-test") -> openai.OpenAI:
    http = openai.DefaultHttpxClient(event_hooks={"response": [schema.hook]})
    return openai.OpenAI(
        base_url=f"{base_url}/v1", api_key=api_key, http_client=http, max_retries=0
    )


def make_async_client(base_url: str, api_key: str = "sk-test") -> openai.AsyncOpenAI:
    http = openai.DefaultAsyncHttpxClient(event_hooks={"response": [schema.async_hook]})
    return openai.AsyncOpenAI(
        base_url=f"{base_url}/v1", api_key=api_key, http_client=http, max_retries=0
    )


@pytest.fixture(scope="session")
def upstream() -> Iterator[ScriptedUpstream]:
    """One scripted OpenAI-compatible upstream for the session; tests reset its script."""
    with ScriptedUpstream().running() as up:
        yield up


@pytest.fixture(autouse=True)
def _fresh_upstream(request: pytest.FixtureRequest) -> None:
    """Each test that uses the upstream starts with an empty script and no requests."""
    if "upstream" in request.fixturenames:
        request.getfixturevalue("upstream").reset()


@pytest.fixture
def client(server: Server) -> Iterator[openai.OpenAI]:
    with make_client(server.base_url) as c:
        yield c


@pytest.fixture
async def async_client(server: Server) -> AsyncIterator[openai.AsyncOpenAI]:
    async with make_async_client(server.base_url) as c:
        yield c


@pytest.fixture
def thread_id(client: openai.OpenAI) -> str:
    return client.beta.threads.create().id


@pytest.fixture
def file_id(client: openai.OpenAI) -> str:
    """A real File of the default project, for tests that reference one."""
    return client.files.create(file=("notes.txt", b"some notes\n"), purpose="assistants").id


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A contract run that validated nothing would prove nothing.
    ran_contract = any("contract" in str(item.path) for item in session.items)
    if ran_contract and exitstatus == 0 and not schema.validated:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
