"""scripts/cluster-demo.sh --check: the README's cluster, started, used and stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.processes import processes_with
from tests.redis_server import REDIS_URL, new_prefix
from tests.servers import database, free_port

ROOT = Path(__file__).resolve().parents[2]


def test_the_cluster_demo_runs_a_request_across_its_processes(tmp_path: Path) -> None:
    ports = f"{free_port()} {free_port()}"
    with database("postgres", tmp_path) as url:
        env = {
            **os.environ,
            "VENV": sys.prefix,
            "DEMO_DIR": str(tmp_path / "demo"),
            "DEMO_PORTS": ports,
            "ASSISTANTD_DATABASE_URL": url,
            "ASSISTANTD_REDIS_URL": REDIS_URL,
            "ASSISTANTD_REDIS_PREFIX": new_prefix(),
        }
        result = subprocess.run(
            [str(ROOT / "scripts" / "cluster-demo.sh"), "--check"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cluster: check passed" in result.stdout
    assert "'redis': 'ok'" in result.stdout
    assert "streamed from the other API process" in result.stdout
    # Every process it started has stopped.
    assert not processes_with(f"{tmp_path / 'demo'}")
