"""The embedded model in a child process that the server supervises.

llama.cpp is native code: a schema whose grammar it rejects made llama-cpp-python
sample with a null grammar and the whole server died with SIGSEGV, taking every
tenant's runs in flight with it (and again after each restart, while the hostile run
stayed queued). So generation runs here, in `python -m assistantd.providers.llama_process`,
one job at a time, speaking JSON lines over stdin/stdout:

    parent → child   {"op": "generate", "id": 7, "kwargs": {...}, "schema": {...} | null}
                     {"op": "check", "id": 8, "schema": {...}}
                     {"op": "cancel", "id": 7}
    child → parent   {"ready": true} once loaded, or {"fatal": "..."}
                     {"id": 7, "start": true}, {"id": 7, "chunk": {...}} ..., then
                     {"id": 7, "end": true} or {"id": 7, "error": "..."}
                     {"id": 8, "start": true}, {"id": 8, "end": true, "problem": "..." | null}

If the child dies, the job it had started fails with `server_error` and the jobs
still waiting are sent again to a fresh child: one crash fails one run.

Schemas are checked in a second child that loads only the vocabulary ("check" mode):
llama.cpp's grammar parser is native code fed by clients, it writes a rejected
grammar whole to stderr (megabytes), and a check must not wait behind a generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from assistantd.providers.base import ProviderError

__all__ = ["LlamaProcess", "checked_grammar"]

log = logging.getLogger(__name__)
_LINE_LIMIT = 64 * 1024 * 1024  # one chunk line; chunks are small, errors can be long
_START_TIMEOUT_S = 120  # loading a large GGUF from a slow disk; the bundled one takes 1 s


def checked_grammar(vocab: Any, schema: Any) -> tuple[Any, str | None]:
    """The llama.cpp grammar of a JSON schema, or None and why llama.cpp cannot use it.

    Parsed by llama.cpp itself (creating and freeing a grammar sampler), since its
    parser, not ours, decides: llama-cpp-python does not check, and samples with the
    null sampler it gets back.
    """
    import llama_cpp
    from llama_cpp.llama_grammar import LlamaGrammar

    try:
        grammar = LlamaGrammar.from_json_schema(orjson.dumps(schema).decode(), verbose=False)
    except Exception as exc:  # the converter refuses what it cannot express
        return None, f"the schema cannot be turned into a grammar: {exc}"
    sampler = llama_cpp.llama_sampler_init_grammar(
        vocab, grammar._grammar.encode(), grammar._root.encode()
    )
    if not sampler:
        return None, (
            "the schema's grammar is too large for the embedded model (lower maxLength, "
            "maxItems or nesting)"
        )
    llama_cpp.llama_sampler_free(sampler)
    return grammar, None


def quiet_llama() -> None:
    """llama.cpp prints a rejected grammar whole (megabytes); our errors say enough."""
    logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)


@dataclass
class _Job:
    message: bytes
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    started: bool = False


class LlamaProcess:
    """Parent side: starts the child on demand, routes its answers, survives its death."""

    def __init__(self, model_path: str, context_window: int, *, mode: str = "generate") -> None:
        self.model_path = model_path
        self.context_window = context_window
        self.mode = mode
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._jobs: dict[int, _Job] = {}
        self._next_id = 0
        self._starting = asyncio.Lock()
        self._closing = False

    async def start(self) -> None:
        """Start the child (and load the model in it) unless it is running."""
        async with self._starting:
            if self._proc is not None and self._proc.returncode is None:
                return
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "assistantd.providers.llama_process",
                self.model_path,
                str(self.context_window),
                self.mode,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                limit=_LINE_LIMIT,
                # Out of the server's process group: a Ctrl-C or a SIGTERM to the group
                # is the server's to handle (it ends the child in `aclose`); the child
                # also ends by itself when its stdin closes, if the server is killed.
                start_new_session=True,
            )
            assert proc.stdout is not None
            try:
                first = await asyncio.wait_for(proc.stdout.readline(), timeout=_START_TIMEOUT_S)
            except TimeoutError:
                proc.kill()
                first = b'{"fatal": "it did not load the model within %d s"}' % _START_TIMEOUT_S
            hello = orjson.loads(first) if first else {"fatal": "it exited while loading"}
            if not hello.get("ready"):
                await proc.wait()
                raise ProviderError(f"The embedded model could not start: {hello.get('fatal')}")
            self._proc = proc
            self._reader = asyncio.create_task(self._read(proc))
            for job in self._jobs.values():  # waiting when the last child died: again
                self._send(job.message)
            log.info("embedded model process %d ready (%s)", proc.pid, self.mode)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _send(self, message: bytes) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                self._proc.stdin.write(message)

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while line := await proc.stdout.readline():
                event = orjson.loads(line)
                job = self._jobs.get(event.get("id", -1))
                if job is None:
                    continue  # a job its caller gave up on
                if event.get("start"):
                    job.started = True
                job.events.put_nowait(event)
        except Exception:
            # A line that is not the protocol: the child cannot be trusted any more.
            log.exception("the embedded model process broke its protocol; restarting it")
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        code = await proc.wait()
        if self._closing:
            log.info("the embedded model process %d stopped", proc.pid)
        else:
            log.error("the embedded model process exited (code %s); restarting it on demand", code)
        self._proc = None
        for job in self._jobs.values():
            job.events.put_nowait({"crashed": code} if job.started else {"resend": True})

    async def _run(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The child's events for one job until it ends; a dead child's job raises."""
        self._next_id += 1
        job_id = self._next_id
        message = orjson.dumps({**request, "id": job_id}, option=orjson.OPT_APPEND_NEWLINE)
        job = self._jobs[job_id] = _Job(message)
        done = False
        try:
            await self.start()
            self._send(message)
            while True:
                event = await job.events.get()
                if "crashed" in event:
                    done = True
                    raise ProviderError(
                        "The embedded model crashed while answering this run "
                        f"(exit code {event['crashed']}); it has been restarted."
                    )
                if event.get("resend"):
                    job.started = False
                    await self.start()  # the new child is sent every waiting job
                    continue
                if "error" in event:
                    done = True
                    raise ProviderError(f"The embedded model refused the request: {event['error']}")
                done = bool(event.get("end"))
                yield event
                if done:
                    return
        finally:
            del self._jobs[job_id]
            if not done:
                self._send(orjson.dumps({"op": "cancel", "id": job_id}) + b"\n")

    async def generate(
        self, kwargs: dict[str, Any], schema: Any = None
    ) -> AsyncIterator[dict[str, Any]]:
        """The chat-completion chunks of one generation, as llama-cpp-python yields them."""
        request = {"op": "generate", "kwargs": kwargs, "schema": schema}
        async for event in self._run(request):
            if "chunk" in event:
                yield event["chunk"]

    async def check(self, schema: Any) -> str | None:
        """Why llama.cpp cannot use `schema`'s grammar (`checked_grammar`), or None;
        decided in a child (a "check" mode one)."""
        try:
            async for event in self._run({"op": "check", "schema": schema}):
                if event.get("end"):
                    problem: str | None = event.get("problem")
                    return problem
        except ProviderError:  # it crashed the grammar parser: that settles it
            return "the schema's grammar could not be parsed by the embedded model"
        return None

    async def aclose(self) -> None:
        self._closing = True  # the child's end is expected now, not an error to report
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


def _child(model_path: str, context_window: int, mode: str) -> int:
    """The child: load the model (or only its vocabulary, to check schemas), then run jobs
    one at a time until stdin closes."""
    # The protocol gets its own copy of stdout; fd 1 itself goes to stderr (discarded by
    # the parent), so nothing native code prints can corrupt the protocol.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    write_lock = threading.Lock()

    def write(event: dict[str, Any]) -> None:
        with write_lock:
            out.write(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))
            out.flush()

    try:
        from llama_cpp import Llama

        if mode == "check":
            llama = Llama(model_path=model_path, vocab_only=True, verbose=False)
        else:
            llama = Llama(model_path=model_path, n_ctx=context_window, n_threads=2, verbose=False)
        quiet_llama()
    except Exception as exc:
        write({"fatal": f"{type(exc).__name__}: {exc}"})
        return 1
    write({"ready": True})

    jobs: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
    cancelled: set[int] = set()

    def read() -> None:
        for line in sys.stdin.buffer:
            message = orjson.loads(line)
            if message["op"] == "cancel":
                cancelled.add(message["id"])
            else:
                jobs.put(message)
        jobs.put(None)

    threading.Thread(target=read, daemon=True).start()
    while (job := jobs.get()) is not None:
        if job["id"] not in cancelled:
            _run_job(llama, job, cancelled, write)
    return 0


def _run_job(
    llama: Any, job: dict[str, Any], cancelled: set[int], write: Callable[[dict[str, Any]], None]
) -> None:
    job_id = job["id"]
    write({"id": job_id, "start": True})
    if job["op"] == "check":
        _, problem = checked_grammar(llama._model.vocab, job["schema"])
        write({"id": job_id, "end": True, "problem": problem})
        return
    try:
        kwargs = job["kwargs"]
        if job["schema"] is not None:
            grammar, problem = checked_grammar(llama._model.vocab, job["schema"])
            if problem is not None:
                write({"id": job_id, "error": problem})
                return
            kwargs["grammar"] = grammar
        for chunk in llama.create_chat_completion(**kwargs):
            if job_id in cancelled:
                break
            write({"id": job_id, "chunk": chunk})
        write({"id": job_id, "end": True})
    except Exception as exc:
        write({"id": job_id, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
