"""`assistantd serve --workers N`: N server processes sharing one listening socket.

The parent binds the port once, runs the migrations once, then starts N children
(`assistantd serve --fd FD`) that inherit the socket and accept from its one queue,
as gunicorn's workers do; the kernel hands each connection to whichever child is
free. Children that die are started again; SIGTERM or SIGINT is passed on to every
child, which finishes its requests and runs as a single server would.

Each child is a whole server: its own event loop, database pool and run worker
slots. Without Redis each child also has its own in-process event bus, so a stream
still only follows the runs its own process executes (streamed runs are reserved for
it), and rate limits count per process; set ASSISTANTD_REDIS_URL for one bus and one
set of limits. On SQLite, N processes share one WAL database: reads run in parallel,
writes still take turns on SQLite's one write lock (bench/RESULTS.md measures it).

Metrics: unless PROMETHEUS_MULTIPROC_DIR is set already, the parent gives the
children a fresh directory of its own, so /metrics on any child sums them all.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from types import FrameType

__all__ = ["supervise"]

log = logging.getLogger("assistantd.supervisor")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def supervise(host: str, port: int, workers: int, child_args: Sequence[str]) -> int:
    """Serve on host:port with `workers` children running `assistantd serve ARGS --fd`."""
    sock = _bind(host, port)
    env = dict(os.environ)
    env["ASSISTANTD_MIGRATE_ON_START"] = "false"  # the parent migrated, once
    metrics_dir = None
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="assistantd-metrics-")
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    command = [sys.executable, "-m", "assistantd", "serve", *child_args, "--fd", str(sock.fileno())]
    stopping = False

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=env, pass_fds=(sock.fileno(),))

    def stop(sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(sig)

    children = [start() for _ in range(workers)]
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("serving on %s:%d with %d processes", host, port, workers)
    try:
        while not stopping:
            time.sleep(0.5)
            for i, child in enumerate(children):
                if child.poll() is not None and not stopping:
                    log.warning(
                        "server process %d exited (%s); starting another",
                        child.pid,
                        child.returncode,
                    )
                    _mark_dead(child.pid, env["PROMETHEUS_MULTIPROC_DIR"])
                    children[i] = start()
        for child in children:
            child.wait()
    finally:
        sock.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _mark_dead(pid: int, metrics_dir: str) -> None:
    """Drop a dead child's live gauges (open streams) from the summed metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, metrics_dir)  # type: ignore[no-untyped-call]
