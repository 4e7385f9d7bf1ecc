"""`assistantd serve --workers N`: N processes on one port, on SQLite without Redis."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx

from tests.conftest import make_async_client
from tests.processes import children_of
from tests.scaleout.metrics import scrape, value
from tests.servers import Server, database
from tests.upstream import ScriptedUpstream, route_env


def test_two_processes_share_the_port_stream_their_runs_and_stop_together(
    upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    env = {**route_env(upstream), "ASSISTANTD_EMBEDDED_WARM_UP": "false"}
    with database("sqlite", tmp_path) as url:
        server = Server(url, tmp_path, env=env, args=["--workers", "2"]).start()
        try:
            assert server.process is not None
            parent = server.process.pid
            children = children_of(parent)
            assert len(children) == 2

            async def main() -> list[str]:
                async with make_async_client(server.base_url) as client:
                    assistant = await client.beta.assistants.create(model="scripted-workers")

                    async def one(i: int) -> str:
                        stream = await client.beta.threads.create_and_run(
                            assistant_id=assistant.id,
                            thread={"messages": [{"role": "user", "content": f"n{i}"}]},
                            stream=True,
                        )
                        events = [event.event async for event in stream]
                        return events[-1]

                    return await asyncio.gather(*(one(i) for i in range(40)))

            # Without Redis each process streams the runs it executes itself.
            assert asyncio.run(main()) == ["thread.run.completed"] * 40
            # Both processes answered (the kernel spreads connections), and /metrics
            # on either sums both.
            samples = scrape(server.base_url)
            total = value(samples, "assistantd_runs_finished_total", status="completed")
            assert total == 40
            served = [httpx.get(f"{server.base_url}/health").status_code for _ in range(20)]
            assert served == [200] * 20
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=30) == 0
            assert all(not Path(f"/proc/{pid}").exists() for pid in children)
        finally:
            server.stop()
