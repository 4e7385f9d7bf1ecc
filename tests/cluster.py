"""A local cluster for the scale-out tests: API processes and worker processes on one
PostgreSQL and one Redis, as an operator would run them on several machines.

API processes run no worker slots (ASSISTANTD_WORKERS=0), so every run is executed by
a worker process and every stream crosses processes through Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tests.redis_server import REDIS_URL, new_prefix
from tests.servers import Server, database, stop_process


@dataclass
class WorkerProcess:
    """A running `assistantd worker`."""

    database_url: str
    data_dir: Path
    env: dict[str, str]
    name: str
    process: subprocess.Popen[bytes] | None = None
    _log: BinaryIO | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    def start(self, concurrency: int) -> WorkerProcess:
        self._log = log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistantd",
                "worker",
                "--concurrency",
                str(concurrency),
                "--data-dir",
                str(self.data_dir),
                "--database-url",
                self.database_url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )
        deadline = time.monotonic() + 60
        while "executing runs" not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log_path.read_text()}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        stop_process(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Cluster:
    database_url: str
    redis_prefix: str
    apis: list[Server] = field(default_factory=list)
    workers: list[WorkerProcess] = field(default_factory=list)

    def kill_api(self, index: int) -> None:
        process = self.apis[index].process
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait()


@contextmanager
def running_cluster(
    tmp: Path,
    env: dict[str, str] | None = None,
    *,
    apis: int = 2,
    workers: int = 2,
    concurrency: int = 8,
) -> Iterator[Cluster]:
    (tmp / "metrics").mkdir(parents=True, exist_ok=True)
    prefix = new_prefix()
    shared = {
        "ASSISTANTD_REDIS_URL": REDIS_URL,
        "ASSISTANTD_REDIS_PREFIX": prefix,
        "ASSISTANTD_EMBEDDED_WARM_UP": "false",
        "ASSISTANTD_BLOB_DIR": str(tmp / "blobs"),  # one file store, as on shared storage
        # Every process on this host writes its metrics here; /metrics anywhere sums them.
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        **(env or {}),
    }
    with database("postgres", tmp) as url, ExitStack() as stack:
        cluster = Cluster(database_url=url, redis_prefix=prefix)
        for i in range(apis):
            (tmp / f"api-{i}").mkdir(exist_ok=True)
            api = Server(url, tmp / f"api-{i}", env={**shared, "ASSISTANTD_WORKERS": "0"})
            stack.callback(api.stop)
            cluster.apis.append(api.start())
        for i in range(workers):
            worker = WorkerProcess(url, tmp, shared, name=f"worker-{i}")
            stack.callback(worker.stop)
            cluster.workers.append(worker.start(concurrency))
        yield cluster
