"""One sandboxed Python kernel: bubblewrap around `bridge.py`, spoken to over its pipes.

What the code inside can see and do (the command line is bwrap.py's):
- no network: its own network namespace, with only its own loopback;
- no host files: a fresh root holding read-only `/usr`, the interpreter's prefix and
  its venv, a size-capped `/tmp`, and `/mnt/data`, a size-capped tmpfs that is the
  only place files persist (so filling it cannot fill the host's disk);
- its own pid namespace: nothing outside is visible or signallable, and when the
  sandbox ends every process in it ends (`--die-with-parent`, pid 1 gone);
- rlimits set by `prlimit` before bwrap starts (address space, CPU seconds, processes,
  open files, file size); when the server runs as root the code runs as a uid of its
  own per session, so the process limit counts that session's processes only;
- a seccomp filter (seccomp.py): no new namespaces, no ptrace, no kernel extras;
- accounted as a whole from outside (procs.py): the session pool reads the memory of
  all its processes and tmpfs mounts together, and ends every process the code left
  running once a call returns (`end_strays`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
from typing import Any

import orjson

from assistantd.tools.code_interpreter import procs, seccomp
from assistantd.tools.code_interpreter.bwrap import Limits, command

__all__ = ["BWRAP_MISSING", "Limits", "Sandbox", "SandboxError", "bwrap_path", "kernel_missing"]

_CHUNK = 1024 * 1024  # bytes per put/get line: keeps every line on the pipe small
_LINE_LIMIT = 64 * 1024 * 1024  # an exec reply carries its images (base64 PNGs)

BWRAP_MISSING = (
    "code_interpreter needs bubblewrap, which is not installed on this server. "
    "Install it (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install "
    "bubblewrap`) and restart assistantd."
)


async def kernel_missing(python: str) -> str | None:
    """Why `python` cannot run the kernel (a `last_error` message), or None if it can."""
    try:
        process = await asyncio.create_subprocess_exec(
            python,
            "-c",
            "import ipykernel, jupyter_client",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
    except (OSError, TimeoutError) as error:
        return f"code_interpreter cannot start its Python ({python}): {error}"
    if process.returncode == 0:
        return None
    last = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
    return (
        f"code_interpreter's Python ({python}) cannot run a Jupyter kernel ({last[0]}). "
        "Install assistantd with its `code-interpreter` extra (`make serve` does), or "
        "point ASSISTANTD_CODE_INTERPRETER_PYTHON at a Python that has ipykernel."
    )


class SandboxError(Exception):
    """The sandbox died, hung or spoke nonsense: the session is over."""


def bwrap_path(configured: str | None = None) -> str | None:
    """bubblewrap's path: the configured one if it is there, else `bwrap` on PATH."""
    if configured is not None:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap")


def _child_pid(fd: int) -> int | None:
    """bwrap's `--info-fd` JSON (`{"child-pid": N}`), read once; None if it sent none."""
    data = b""
    try:
        # Until it parses or bwrap closes the pipe: it may come in several writes, and
        # closing our end early would kill bwrap with SIGPIPE on its next one.
        while piece := os.read(fd, 4096):
            data += piece
            try:
                pid = orjson.loads(data).get("child-pid")
            except orjson.JSONDecodeError:
                continue
            return int(pid) if pid else None
    except OSError:
        return None
    finally:
        os.close(fd)
    return None


class Sandbox:
    """A running kernel. One request at a time (the session serialises its calls)."""

    def __init__(self, process: asyncio.subprocess.Process, uid: int | None = None) -> None:
        self.process = process
        self.uid = uid  # the uid its code runs as (None: the server's own)
        self.child_pid: int | None = None  # pid 1 of the sandbox's namespace, seen from here
        # What ran before any code did (bwrap, its pid 1, the bridge, the kernel): every
        # other process is the code's, and does not outlive the call that started it.
        self.core: frozenset[int] = frozenset()

    @classmethod
    async def start(
        cls, bwrap: str, python: str, limits: Limits, uid: int | None = None
    ) -> Sandbox:
        read_info, write_info = os.pipe()
        filter_fd = seccomp.program_fd()
        passed = (write_info,) if filter_fd is None else (write_info, filter_fd)
        try:
            process = await asyncio.create_subprocess_exec(
                *command(bwrap, python, limits, uid, info_fd=write_info, seccomp_fd=filter_fd),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                pass_fds=passed,
                limit=_LINE_LIMIT,
            )
        finally:
            for fd in passed:
                os.close(fd)
        sandbox = cls(process, uid)
        try:
            sandbox.child_pid = await asyncio.wait_for(
                asyncio.to_thread(_child_pid, read_info), limits.start_timeout_s
            )
            await asyncio.wait_for(sandbox._read(), limits.start_timeout_s)
        except (SandboxError, TimeoutError) as error:
            detail = await sandbox._stderr()
            await sandbox.kill()
            raise SandboxError(f"the sandbox did not start: {detail or error}") from error
        sandbox.core = frozenset(await asyncio.to_thread(procs.tree, process.pid))
        return sandbox

    def memory_bytes(self) -> int:
        """All its processes' memory (PSS) and what its tmpfs mounts hold (blocking)."""
        return procs.memory_bytes(procs.tree(self.process.pid), self.child_pid)

    def tmpfs_bytes(self) -> int:
        return procs.tmpfs_bytes(self.child_pid) if self.child_pid and self.alive else 0

    async def end_strays(self) -> int:
        """Kill every process the code started (background ones included); how many.
        A few rounds: one may fork while its siblings are being killed."""
        ended = 0
        for _ in range(5):
            found = await asyncio.to_thread(procs.tree, self.process.pid)
            strays = [pid for pid in found if pid not in self.core]
            if not strays:
                break
            for pid in strays:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            ended += len(strays)
            await asyncio.sleep(0.01)
        return ended

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        try:
            line = await self.process.stdout.readline()
        except (ValueError, asyncio.LimitOverrunError) as error:
            raise SandboxError("the sandbox sent a line too long") from error
        if not line:
            raise SandboxError("the sandbox ended")
        try:
            reply: dict[str, Any] = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise SandboxError("the sandbox sent something that is not JSON") from error
        return reply

    async def _stderr(self) -> str:
        assert self.process.stderr is not None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait(), 2)
        if self.alive:
            return ""
        with contextlib.suppress(Exception):
            return (await asyncio.wait_for(self.process.stderr.read(4096), 1)).decode(
                errors="replace"
            )
        return ""

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        if not self.alive:
            raise SandboxError("the sandbox ended")
        try:
            self.process.stdin.write(orjson.dumps(body) + b"\n")
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as error:
            raise SandboxError("the sandbox ended") from error
        return await self._read()

    async def execute(self, code: str, timeout_s: float, max_images: int) -> dict[str, Any]:
        """Run code; TimeoutError if it outlives `timeout_s` (the caller kills us). At
        most `max_images` images come back; the reply counts the rest."""
        request = {"op": "exec", "code": code, "max_images": max_images}
        return await asyncio.wait_for(self.request(request), timeout_s)

    async def put(self, name: str, data: bytes) -> None:
        for start in range(0, max(len(data), 1), _CHUNK):
            piece = base64.b64encode(data[start : start + _CHUNK]).decode()
            reply = await self.request(
                {"op": "put", "name": name, "data": piece, "append": start > 0}
            )
            if not reply.get("ok"):
                raise SandboxError(f"could not write /mnt/data/{name}: {reply.get('error')}")

    async def get(self, name: str, max_bytes: int) -> bytes | None:
        """A file of /mnt/data, or None if it is missing or larger than `max_bytes`."""
        parts: list[bytes] = []
        got = 0
        while True:
            reply = await self.request({"op": "get", "name": name, "offset": got, "length": _CHUNK})
            if not reply.get("ok") or int(reply["size"]) > max_bytes:
                return None
            parts.append(base64.b64decode(reply["data"]))
            got += len(parts[-1])
            if not parts[-1] or got >= int(reply["size"]):
                return b"".join(parts)

    async def names(self) -> list[str]:
        reply = await self.request({"op": "list"})
        names: list[str] = reply.get("names") or []
        return names

    def kill_now(self) -> None:
        """End the sandbox and everything in it: killing its pid 1 ends every process
        of its namespace, and bwrap, its parent, then reaps it and exits (killing bwrap
        first would leave that pid 1 a zombie for whoever inherits it)."""
        if not self.alive:
            return
        target = self.child_pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if target is not None:
                os.kill(target, signal.SIGKILL)
            else:
                os.killpg(self.process.pid, signal.SIGKILL)

    async def kill(self) -> None:
        self.kill_now()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait(), 10)
        # Its pipes, now: left to the garbage collector they warn once the loop is gone.
        transport = getattr(self.process, "_transport", None)
        if transport is not None:
            transport.close()
