"""The README's tutorial runs unchanged against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.servers import Server

EXAMPLE = Path(__file__).parents[2] / "examples" / "tutorial.py"


def test_tutorial_example_runs(server: Server) -> None:
    env = {**os.environ, "OPENAI_BASE_URL": f"{server.base_url}/v1", "OPENAI_API_KEY": "sk-x"}
    result = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "What is a penguin?" in result.stdout
    assert "'Renamed'" in result.stdout
