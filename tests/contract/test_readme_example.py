"""The README's examples run unchanged against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.servers import Server

EXAMPLES = Path(__file__).parents[2] / "examples"


def _run(server: Server, name: str, *args: str) -> str:
    env = {**os.environ, "OPENAI_BASE_URL": f"{server.base_url}/v1", "OPENAI_API_KEY": "sk-x"}
    result = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_tutorial_example_runs(server: Server) -> None:
    out = _run(server, "tutorial.py")
    assert "What is a penguin?" in out
    assert "'Renamed'" in out


def test_file_search_example_cites_a_file(server: Server) -> None:
    lines = _run(server, "file_search.py").strip().splitlines()
    assert lines[0] == "completed 2 files"
    assert lines[1] == "top result: goog-10k.md"
    assert lines[2] in ("completed", "incomplete")
    assert lines[-1].startswith("[0] ")
    assert lines[-1].endswith("-10k.md")


def test_runs_example_answers_polled_and_streamed(server: Server) -> None:
    lines = _run(server, "runs.py").strip().splitlines()
    assert lines[0].startswith("completed")
    # The streamed run ends; the 135M embedded model may ramble into its length limit
    # (which answer it gives depends on what the shared model process ran before).
    assert lines[-1] in ("completed", "incomplete")


def test_code_interpreter_example_streams_code_and_output(server: Server) -> None:
    out = _run(server, "code_interpreter.py")
    assert "assistant > code_interpreter" in out
    assert "output >" in out  # the outputs delta arrived after the code ran
    assert out.strip().splitlines()[-1] in ("run: completed", "run: incomplete")


def test_responses_example_chains_two_turns(server: Server) -> None:
    last = _run(server, "responses.py").strip().splitlines()[-1]
    # The 135M embedded model may ramble into its length limit, as in the runs example.
    assert last in ("completed True", "incomplete True")


def test_the_migration_guides_two_apps_share_their_data(server: Server) -> None:
    """docs/migrating.md: the Assistants app, then its Responses version going on with
    the same assistant and thread; and the Responses version on its own."""
    before = _run(server, "migration/assistants_app.py").strip().splitlines()
    assert before[0] in ("run: completed", "run: incomplete")
    assert before[1].startswith("answer: ")
    ids = json.loads(before[-1])
    after = _run(server, "migration/responses_app.py", before[-1]).strip().splitlines()
    assert after[0] in ("response: completed", "response: incomplete")
    assert after[-4:] == [
        "user | input_text",
        "assistant | output_text",
        "user | input_text",
        "assistant | output_text",
    ]
    assert ids["thread_id"].startswith("thread_")
    fresh = _run(server, "migration/responses_app.py").strip().splitlines()
    assert fresh[0] in ("response: completed", "response: incomplete")
    assert fresh[-2:] == ["user | input_text", "assistant | output_text"]
