"""The parse worker: a process of its own that prepares files, each job in a fork under limits.

Run by `engine/parse_pool.py` as `python -m assistantd.engine.parse_worker`. It loads
every parser and the tokenizer once, then reads one job a line from stdin. For each
job it forks (it is single-threaded, so the fork is safe, and the child starts with
everything loaded in a few milliseconds) and the child, before touching the file, sets:

- `RLIMIT_AS` (memory): past it allocations fail; the child reports `memory`;
- `RLIMIT_CPU` (CPU seconds): the kernel ends the child with SIGXCPU;
- nice 10, so the API's own work goes first on a busy machine.

The worker kills a child that outlives the wall-clock limit, and answers every job
with one header line (JSON) and, on success, a payload of `size` bytes. A child that
crashes fails its own job only. Why not `multiprocessing`'s forkserver: it re-runs the
parent's `__main__` in every child (pytest's, uvicorn's), which this avoids.
"""

from __future__ import annotations

import os

# The tokenizer's thread pool must never start here: the worker forks for every job.
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import resource
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

from assistantd.retrieval.chunking import chunk_pages, too_many_tokens
from assistantd.retrieval.embeddings import load_word_pieces
from assistantd.retrieval.parsing import (
    ParseError,
    ParseLimits,
    is_text,
    parse,
)

__all__ = ["main"]

_MB = 1024 * 1024
_BLOCK = 4 * _MB  # a text file is read this much at a time
# A lower bound of word pieces: every run of letters or digits (or UTF-8 bytes), and
# every ASCII punctuation mark, is at least one. Counted with numpy: a regex's matches
# for a block of punctuation would take more memory than the block.
_WORDLIKE = np.zeros(256, dtype=bool)
_PUNCTUATION = np.zeros(256, dtype=bool)
for _byte in range(256):
    _WORDLIKE[_byte] = chr(_byte).isalnum() or _byte >= 0x80
    _PUNCTUATION[_byte] = _byte < 0x80 and not chr(_byte).isalnum() and chr(_byte).isprintable()
    _PUNCTUATION[_byte] &= not chr(_byte).isspace()


def _at_least(block: bytes) -> int:
    """Word pieces `block` holds at the least (see `_WORDLIKE`)."""
    codes = np.frombuffer(block, dtype=np.uint8)
    word = _WORDLIKE[codes]
    runs = int(word[0]) + int(np.count_nonzero(word[1:] & ~word[:-1]))
    return runs + int(np.count_nonzero(_PUNCTUATION[codes]))


def _warm() -> None:
    """Import what the parsers import lazily, and build the tokenizer, before any fork."""
    import docx  # noqa: F401
    import olefile  # noqa: F401
    import pptx  # noqa: F401
    import pypdf  # noqa: F401

    load_word_pieces()


def _read_text(path: str, max_tokens: int) -> bytes:
    """A text file, its tokens counted from below as it is read: a billion one-byte
    tokens fail after the first blocks, before the rest is read. Every word and every
    punctuation mark is at least one word piece, so the count can only be low (a word
    cut between two blocks counts twice, hence the -1); the exact count is enforced as
    the file is tokenised (chunking.token_offsets). UTF-16 files skip this count."""
    blocks: list[bytes] = []
    at_least = 0
    utf16 = False
    with open(path, "rb") as file:
        while block := file.read(_BLOCK):
            if not blocks:
                utf16 = block.startswith((b"\xff\xfe", b"\xfe\xff"))
            if not utf16:
                at_least += _at_least(block) - 1
                if at_least > max_tokens:
                    raise too_many_tokens(max_tokens)
            blocks.append(block)
    return b"".join(blocks)


def _prepare(job: dict[str, Any]) -> dict[str, Any]:
    try:
        if is_text(job["filename"]):
            data = _read_text(job["path"], job["max_tokens"])
        else:
            data = Path(job["path"]).read_bytes()
    except FileNotFoundError:
        raise ParseError("invalid_file", "The File was deleted before it was read.") from None
    limits = ParseLimits(**job["parse"])
    pages = parse(job["filename"], data, limits)
    del data
    chunks = chunk_pages(pages, job["chunk_tokens"], job["overlap_tokens"], job["max_tokens"])
    return {"pages": pages, "chunks": [c.text for c in chunks]}


def _child(job: dict[str, Any], out: int) -> None:
    """In the fork: limits, the work, one reply on `out`, then _exit (never returns)."""
    code = 0
    try:
        memory = job["memory_mb"] * _MB
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (job["cpu_s"], job["cpu_s"] + 1))
        os.nice(10)
        # This fork has never used the tokenizer's thread pool: it may start one now.
        os.environ["TOKENIZERS_PARALLELISM"] = "true"
        try:
            reply = {"status": "ok", **_prepare(job)}
        except ParseError as error:
            reply = {"status": "error", "code": error.code, "message": error.message}
        except MemoryError:
            reply = {"status": "memory"}
        try:
            payload = orjson.dumps(reply)
        except MemoryError:
            payload = b'{"status": "memory"}'
        view = memoryview(payload)
        while view:
            view = view[os.write(out, view) :]
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _run(job: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """Fork, collect the child's reply within the wall-clock limit: (header, payload)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(job, write_end)
    os.close(write_end)
    deadline = time.monotonic() + job["timeout_s"]
    parts: list[bytes] = []
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_end], [], [], left)
            if not ready:
                continue
            piece = os.read(read_end, 1 << 20)
            if not piece:
                break
            parts.append(piece)
    finally:
        os.close(read_end)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"status": "timeout"}, b""
    payload = b"".join(parts)
    if os.WIFSIGNALED(status) or not payload:
        signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        if signum == signal.SIGXCPU:  # the CPU limit (its SIGKILL, a second later, is rare)
            return {"status": "cpu"}, b""
        return {"status": "crashed", "exit": signum or os.WEXITSTATUS(status)}, b""
    return {"status": "reply"}, payload


def main(stdin: BinaryIO = sys.stdin.buffer, stdout: BinaryIO = sys.stdout.buffer) -> int:
    _warm()
    stdout.write(b'{"ready": true}\n')
    stdout.flush()
    for line in stdin:
        job = orjson.loads(line)
        header, payload = _run(job)
        header["size"] = len(payload)
        stdout.write(orjson.dumps(header) + b"\n" + payload)
        stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
