"""The ceiling: a bare ASGI app with a GET and a JSON POST, served exactly as assistantd is."""

from __future__ import annotations

from typing import Any

import orjson

_HELLO = orjson.dumps({"object": "hello", "message": "hello, world"})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    # A JSON POST parses its body and answers an object, like a create would.
    payload = orjson.dumps({"echo": orjson.loads(body)}) if body else _HELLO
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})
