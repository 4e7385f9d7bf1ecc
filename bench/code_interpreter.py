"""code_interpreter sessions: what the sandbox and the kernel cost.

- Cold start: a new session (bubblewrap, the bridge, ipykernel) up to the answer of its
  first `1+1`, against `python3 -c "print(1+1)"` in a plain subprocess (the cheapest
  way to run a line of Python in a fresh process); then the same first call when the
  pool's spare sandbox is ready, as it is for every new session after the first.
- Warm call: `1+1` in a session that is already running, against the same plain
  subprocess (what a server without sessions would pay per call).
- 20 concurrent sessions started and called at once: that every call completes, and the
  memory of an idle session (PSS of every process in its sandbox, so shared libraries
  count once across sessions, as the host pays them).

Reproduce: make dev && .venv/bin/python -m bench.code_interpreter
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

from tests.processes import descendants, pss_kib

from assistantd.tools.code_interpreter.sandbox import Limits, bwrap_path
from assistantd.tools.code_interpreter.sessions import SessionPool
from bench.harness import machine


def _plain_call() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "print(1+1)"], check=True, capture_output=True)
    return time.perf_counter() - started


async def _call(pool: SessionPool, thread: str, code: str) -> float:
    session = pool.session("bench", thread)
    started = time.perf_counter()
    async with session.lock:
        result = await pool.execute(session, code)
    assert result.logs.strip() == "2", result.logs
    return time.perf_counter() - started


async def main(repeat: int, sessions: int) -> None:
    bwrap = bwrap_path()
    if bwrap is None:
        sys.exit("bubblewrap is not installed")
    pool = SessionPool(
        bwrap=bwrap, python=sys.executable, limits=Limits(), max_sessions=sessions + repeat
    )
    print(f"machine: {machine()}")
    try:
        plain = [_plain_call() for _ in range(repeat)]
        pool.keep_spare = False
        cold = [await _call(pool, f"cold-{i}", "print(1+1)") for i in range(repeat)]
        for i in range(repeat):
            await pool.restart(pool.session("bench", f"cold-{i}"))
        pool.keep_spare = True
        spared = []
        for i in range(repeat):
            pool._refill()
            assert pool._spare is not None
            await pool._spare  # ready, as it is once the previous session started
            spared.append(await _call(pool, f"spare-{i}", "print(1+1)"))
            await pool.restart(pool.session("bench", f"spare-{i}"))
        await _call(pool, "warm", "print(1+1)")
        warm = [await _call(pool, "warm", "print(1+1)") for _ in range(repeat * 10)]
        p_plain, p_cold, p_spare, p_warm = (
            statistics.median(x) * 1000 for x in (plain, cold, spared, warm)
        )
        print(f"plain `python3 -c`      p50 {p_plain:8.1f} ms  (baseline)")
        print(f"session cold start      p50 {p_cold:8.1f} ms  ratio {p_cold / p_plain:6.2f}")
        print(f"new session, spare up   p50 {p_spare:8.1f} ms  ratio {p_spare / p_plain:6.3f}")
        print(f"warm call `1+1`         p50 {p_warm:8.1f} ms  ratio {p_warm / p_plain:6.3f}")
        pool.keep_spare = False
        spare = await pool._take_spare()
        if spare is not None:
            await pool._end(spare)

        started = time.perf_counter()
        results = await asyncio.gather(
            *(_call(pool, f"many-{i}", "print(1+1)") for i in range(sessions)),
            return_exceptions=True,
        )
        wall = time.perf_counter() - started
        failed = [r for r in results if isinstance(r, BaseException)]
        print(
            f"{sessions} sessions at once: {sessions - len(failed)}/{sessions} calls completed "
            f"in {wall:.1f} s"
        )
        await asyncio.sleep(1)  # idle
        per = []
        for i in range(sessions):
            sandbox = pool.sessions[("bench", f"many-{i}")].sandbox
            if sandbox is not None:
                per.append(pss_kib([sandbox.process.pid, *descendants(sandbox.process.pid)]) / 1024)
        print(
            f"idle session memory (PSS): mean {statistics.mean(per):.0f} MiB, "
            f"max {max(per):.0f} MiB, {sum(per):.0f} MiB for {len(per)} sessions"
        )
    finally:
        await pool.close()
    print("reproduce: .venv/bin/python -m bench.code_interpreter")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.repeat, args.sessions))
