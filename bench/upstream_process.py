"""The scripted upstream (tests/upstream.py) in a process of its own, for benchmarks whose
driver must not share its interpreter (and GIL) with the upstream. Unscripted, it answers
every chat request at once with "(no script)" and usage 11 + 7.

    python -m bench.upstream_process PORT
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bench.harness import ROOT, free_port


@contextmanager
def upstream_process() -> Iterator[str]:
    """Start it; yields its /v1 base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "bench.upstream_process", str(port)], env=env)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.post(f"{base}/chat/completions", json={"messages": []}, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    import uvicorn
    from tests.upstream import ScriptedUpstream

    upstream = ScriptedUpstream()
    uvicorn.run(
        upstream.app(),
        port=int(sys.argv[1]),
        log_level="warning",
        lifespan="off",
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
