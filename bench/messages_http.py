"""messages.create and messages.list(limit=100) over HTTP, beside a bare-ASGI ceiling.

Both servers run as `assistantd serve` runs (uvicorn + httptools + uvloop, one
process, access log off) on loopback, driven by wrk at 1 and 32 connections. The
ratio to the ceiling is the number to watch: the machine's noise cancels in it.

Reproduce: make dev && apt-get install wrk && .venv/bin/python -m bench.messages_http
"""

from __future__ import annotations

import argparse

import httpx
import orjson

from bench.harness import WrkResult, assistantd_server, ceiling_server, machine, wrk

CREATE_BODY = orjson.dumps({"role": "user", "content": "What is a penguin? " * 4})


def _row(name: str, conns: int, result: WrkResult, ceiling: WrkResult) -> str:
    return (
        f"| {name} | {conns} | {result.rps:,.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} "
        f"| {result.rps / ceiling.rps:.0%} | {result.errors} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()
    rows = []
    with (
        ceiling_server() as ceiling,
        assistantd_server(env={"ASSISTANTD_SQLITE_SYNCHRONOUS": args.synchronous}) as server,
    ):
        thread = httpx.post(f"{server}/v1/threads", json={}).json()["id"]
        for _ in range(100):
            httpx.post(f"{server}/v1/threads/{thread}/messages", content=CREATE_BODY)
        # A separate thread for list, so its 100 messages stay the same while create runs.
        list_url = f"{server}/v1/threads/{thread}/messages?limit=100"
        write_thread = httpx.post(f"{server}/v1/threads", json={}).json()["id"]
        create_url = f"{server}/v1/threads/{write_thread}/messages"
        for conns in (1, 32):
            c_get = wrk(f"{ceiling}/hello", connections=conns, seconds=args.seconds)
            c_post = wrk(
                f"{ceiling}/echo", connections=conns, seconds=args.seconds, body=CREATE_BODY
            )
            create = wrk(create_url, connections=conns, seconds=args.seconds, body=CREATE_BODY)
            listing = wrk(list_url, connections=conns, seconds=args.seconds)
            rows += [
                _row("ceiling GET", conns, c_get, c_get),
                _row("ceiling JSON POST", conns, c_post, c_post),
                _row("messages.create (vs POST)", conns, create, c_post),
                _row("messages.list limit=100 (vs GET)", conns, listing, c_get),
            ]
    print(f"machine: {machine()}; SQLite synchronous={args.synchronous}; {args.seconds} s per cell")
    print("| endpoint | conns | req/s | p50 ms | p99 ms | of ceiling | errors |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(
        "reproduce: .venv/bin/python -m bench.messages_http"
        f" --seconds {args.seconds} --synchronous {args.synchronous}"
    )


if __name__ == "__main__":
    main()
