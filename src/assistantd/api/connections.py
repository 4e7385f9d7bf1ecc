"""Connection-level limits uvicorn does not enforce: header size, header time, connection count.

uvicorn's httptools protocol buffers a request head for as long as the client sends
it: one client streaming a 100 MB header value held a core and hundreds of MB, and a
thousand clients sending half a request line held every file descriptor. This
subclass of that protocol (the only parser `assistantd serve` uses) answers, in
OpenAI's error shape, and closes the connection:
- 431 once a request head passes `max_header_bytes` (counted as it arrives, so the
  parser never holds much more than that);
- 408 when a request head is not complete `header_timeout_s` after its connection
  opened or its previous request ended;
- 503 to a connection that would go past `max_connections`, with a warning in the log
  (at most one every ten seconds).
Request bodies have their own idle timeout, in `api/deps.receive_body`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ConnectionLimits", "limited_protocol"]

log = logging.getLogger("assistantd.connections")

_REASONS = {
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int = 64 * 1024
    header_timeout_s: float = 10.0
    max_connections: int = 1000


def _refusal(status: int, message: str, code: str) -> bytes:
    body = orjson.dumps(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": code,
            }
        }
    )
    head = (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n" % (status, _REASONS[status], len(body))
    )
    return head + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with `limits` enforced (set by `limited_protocol`)."""

    limits = ConnectionLimits()
    _warned_at = 0.0
    _head_bytes = 0
    _reading_head = True
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = self.limits
        if len(self.connections) > limits.max_connections:
            now = time.monotonic()
            if now - LimitedHttpToolsProtocol._warned_at > 10:
                LimitedHttpToolsProtocol._warned_at = now
                log.warning(
                    "%d connections open, more than ASSISTANTD_MAX_CONNECTIONS=%d: "
                    "refusing new ones",
                    len(self.connections),
                    limits.max_connections,
                )
            self._refuse(503, "Too many connections; try again shortly.", "server_busy")
            return
        self._start_head()

    def _start_head(self) -> None:
        self._reading_head = True
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_late)

    def _head_late(self) -> None:
        if self._reading_head and not self.transport.is_closing():
            self._refuse(
                408,
                f"The request headers did not arrive within {self.limits.header_timeout_s:g} "
                "seconds.",
                "request_timeout",
            )

    def _refuse(self, status: int, message: str, code: str) -> None:
        self._reading_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
        if not self.transport.is_closing():
            self.transport.write(_refusal(status, message, code))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # refused: what else arrives is not even parsed
        super().data_received(data)
        limits = self.limits
        if self._reading_head:
            self._head_bytes += len(data)
            if self._head_bytes > limits.max_header_bytes:
                log.warning("request head over %d bytes refused", limits.max_header_bytes)
                self._refuse(
                    431,
                    f"Request headers too large: the limit is {limits.max_header_bytes} bytes.",
                    "request_header_fields_too_large",
                )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._reading_head:  # a keep-alive connection's next request
            self._start_head()

    def on_headers_complete(self) -> None:
        self._reading_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)


def limited_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (`http=`), with these limits."""
    return type("LimitedHttpToolsProtocol", (LimitedHttpToolsProtocol,), {"limits": limits})
