"""Watching a server from outside while something hostile happens to it: /health's
latency and the process tree's memory, sampled in a thread until stopped. Used by the
hostile-file tests and by bench/hostile_ingestion.py."""

from __future__ import annotations

import threading
import time

import httpx

from tests.processes import descendants, pss_kib
from tests.servers import Server

__all__ = ["Probe"]


class Probe:
    """/health every `every_s` and the tree's PSS, from `with` to its end."""

    def __init__(self, server: Server, every_s: float = 0.1) -> None:
        assert server.process is not None
        self.url = f"{server.base_url}/health"
        self.pid = server.process.pid
        self.every_s = every_s
        self.health_s: list[float] = []  # each /health's time
        self.failures = 0  # answers other than 200, or none
        self.peak_mb = 0.0  # the process tree's largest PSS seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    ok = client.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.health_s.append(time.monotonic() - started)
                self.failures += not ok
                tree = [self.pid, *descendants(self.pid)]
                self.peak_mb = max(self.peak_mb, pss_kib(tree) / 1024)
                self._stop.wait(self.every_s)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)
