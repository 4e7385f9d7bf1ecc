"""Shared benchmark plumbing: start servers on loopback, drive them with wrk, parse wrk's report."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in 60 s")


@contextmanager
def _process(cmd: list[str], env: dict[str, str], health: str) -> Iterator[None]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(health, proc)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def ceiling_server() -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.ceiling:app",
        "--port",
        str(port),
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with _process(cmd, {**os.environ, "PYTHONPATH": str(ROOT)}, f"http://127.0.0.1:{port}/"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def assistantd_server(
    data_dir: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """assistantd as `assistantd serve` runs it (uvicorn, httptools, uvloop), access log off."""
    port = free_port()
    owned = data_dir is None
    data = data_dir or Path(tempfile.mkdtemp(prefix="assistantd-bench-"))
    cmd = [
        sys.executable,
        "-m",
        "assistantd",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data),
    ]
    full_env = {
        **os.environ,
        "ASSISTANTD_ACCESS_LOG": "false",
        "ASSISTANTD_LOG_LEVEL": "warning",
        **(env or {}),
    }
    try:
        with _process(cmd, full_env, f"http://127.0.0.1:{port}/health"):
            yield f"http://127.0.0.1:{port}"
    finally:
        if owned:
            shutil.rmtree(data, ignore_errors=True)


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _latency(report: str, pct: str) -> float:
    match = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", report, re.MULTILINE)
    if not match:
        raise RuntimeError(f"no {pct}% latency in wrk output:\n{report}")
    return float(match.group(1)) * _UNIT[match.group(2)]


def wrk(url: str, *, connections: int, seconds: int = 10, body: bytes | None = None) -> WrkResult:
    """Drive `url` with wrk; a POST when `body` is given. Requires `wrk` (apt-get install wrk)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    threads = 1 if connections == 1 else 2
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    with tempfile.TemporaryDirectory() as tmp:
        if body is not None:
            body_file = Path(tmp) / "body.json"
            body_file.write_bytes(body)
            script = Path(tmp) / "post.lua"
            script.write_text(
                'wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f'local f = io.open("{body_file}", "rb")\n'
                'wrk.body = f:read("*a")\n'
                "f:close()\n"
            )
            cmd += ["-s", str(script)]
        report = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    socket_errors = re.search(r"Socket errors:.*", report)
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors and re.search(r"(connect|read|write|timeout) [1-9]", socket_errors.group(0)):
        errors += 1
    return WrkResult(rps, _latency(report, "50"), _latency(report, "99"), errors)


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"
