"""Parsing, chunking and tokenising files outside the API process, each job under limits.

A vector-store file is untrusted input to parsers written for trusted documents: a
zip bomb, a PDF whose pages share one costly content stream, or 12 MB of one-byte
tokens once froze the API process for minutes and took gigabytes. So all of that
work runs in parse workers (`engine/parse_worker.py`): `processes` of them, each
forking one child per job with a memory limit, a CPU limit, a wall-clock limit and a
lower priority. A job that breaks a limit fails its file with a `last_error` naming
the limit; a crashed child fails its own file only. A worker that stops answering is
killed and started again, like the embedded model's process (providers/llama_process).

The size checks that avoid spending work at all live with the parsers
(`parsing.ParseLimits`) and the token count (`chunking.token_offsets`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import orjson

from assistantd.retrieval.chunking import MAX_FILE_TOKENS
from assistantd.retrieval.parsing import ParseError, ParseLimits

__all__ = ["ParseJob", "ParsePool", "PrepareLimits", "Prepared"]

log = logging.getLogger(__name__)
_START_TIMEOUT_S = 60.0
_LINE_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class PrepareLimits:
    memory_mb: int = 2048
    cpu_s: int = 120
    timeout_s: float = 180.0
    max_tokens: int = MAX_FILE_TOKENS
    parse: ParseLimits = field(default_factory=ParseLimits)


@dataclass(frozen=True)
class ParseJob:
    path: str  # the File's bytes, read by the child
    filename: str  # its extension chooses the parser
    chunk_tokens: int
    overlap_tokens: int


@dataclass(frozen=True)
class Prepared:
    pages: list[str]
    chunks: list[str]


class _Worker:
    """One parse worker process; one job at a time."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None

    async def ensure(self) -> asyncio.subprocess.Process:
        if self.proc is not None and self.proc.returncode is None:
            return self.proc
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "assistantd.engine.parse_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
            start_new_session=True,  # a Ctrl-C to the server's group is the server's
        )
        assert proc.stdout is not None
        try:
            hello = await asyncio.wait_for(proc.stdout.readline(), _START_TIMEOUT_S)
        except TimeoutError:
            hello = b""
        if not hello.startswith(b'{"ready"'):
            await self.kill(proc)
            raise RuntimeError("the parse worker did not start")
        self.proc = proc
        return proc

    async def ask(self, job: dict[str, Any], timeout_s: float) -> tuple[dict[str, Any], bytes]:
        proc = await self.ensure()
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            proc.stdin.write(orjson.dumps(job) + b"\n")
            await proc.stdin.drain()
            async with asyncio.timeout(timeout_s):
                header: dict[str, Any] = orjson.loads(await proc.stdout.readline())
                payload = await proc.stdout.readexactly(int(header["size"]))
        except BaseException:
            # No answer in time, a broken pipe, or our caller gave up: this worker's
            # state is unknown, so it goes (with the job's child) and a new one starts.
            await self.kill(proc)
            raise
        return header, payload

    async def kill(self, proc: asyncio.subprocess.Process | None = None) -> None:
        proc = proc or self.proc
        self.proc = None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await proc.wait()
        transport = getattr(proc, "_transport", None)
        if transport is not None:
            transport.close()


class ParsePool:
    """At most `processes` jobs at once, each in a limited child of a parse worker."""

    def __init__(self, limits: PrepareLimits | None = None, *, processes: int = 1) -> None:
        self.limits = limits or PrepareLimits()
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers = [_Worker() for _ in range(max(1, processes))]
        for worker in self._workers:
            self._idle.put_nowait(worker)

    async def prepare(self, job: ParseJob) -> Prepared:
        """The file's pages and chunk texts; `ParseError` naming the limit it broke."""
        limits = self.limits
        request = {
            **dataclasses.asdict(job),
            "parse": dataclasses.asdict(limits.parse),
            "max_tokens": limits.max_tokens,
            "memory_mb": limits.memory_mb,
            "cpu_s": limits.cpu_s,
            "timeout_s": limits.timeout_s,
        }
        worker = await self._idle.get()
        try:
            # The worker enforces the wall clock itself; this is for a worker that hangs.
            header, payload = await worker.ask(request, limits.timeout_s + 30)
        except TimeoutError:
            raise ParseError("invalid_file", self._timeout()) from None
        finally:
            self._idle.put_nowait(worker)
        return self._result(header, payload, job)

    def _timeout(self) -> str:
        return f"Parsing the file took longer than {self.limits.timeout_s:g} s, the limit."

    def _result(self, header: dict[str, Any], payload: bytes, job: ParseJob) -> Prepared:
        limits = self.limits
        status = header["status"]
        if status == "timeout":
            raise ParseError("invalid_file", self._timeout())
        if status == "cpu":
            raise ParseError(
                "invalid_file",
                f"Parsing the file used more than {limits.cpu_s} s of CPU, the limit.",
            )
        if status == "crashed":
            log.warning("the parser of %s ended with code %s", job.filename, header.get("exit"))
            raise ParseError(
                "invalid_file",
                f"The parser stopped unexpectedly on this file (code {header.get('exit')}).",
            )
        reply = orjson.loads(payload)
        if reply["status"] == "ok":
            return Prepared(reply["pages"], reply["chunks"])
        if reply["status"] == "error":
            raise ParseError(reply["code"], reply["message"])
        raise ParseError(
            "invalid_file",
            f"Parsing the file needed more than {limits.memory_mb} MB of memory, "
            "the most one file may use.",
        )

    async def close(self) -> None:
        for worker in self._workers:
            await worker.kill()
