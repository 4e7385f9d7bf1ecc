"""Code sessions: one sandboxed kernel per thread, kept while it is used.

As on OpenAI, what one call defines is there for the next call on the same thread, in
the same run or a later one, until the session has been idle for `idle_timeout_s`;
then the kernel and its `/mnt/data` are reclaimed. A session is keyed by project and
thread, so two threads (or two projects) never share one. Sessions live in the process
that runs the thread's runs: with several workers, a thread's next run may start a
fresh session on another one (docs/code-interpreter.md says so).

Starting a sandbox takes most of a second (bubblewrap, then the kernel's imports), so
once code has run here one spare is kept started ahead: a new thread's first call, or a
session restarted after a timeout, takes it instead of waiting.

Bounds per session, not per process (a fork must not double what a session may hold):
- memory: while a call runs, the session's processes and tmpfs are read together every
  quarter second (sandbox.memory_bytes); past `session_memory_mb` the session is ended
  and the call says why;
- processes: when a call returns, every process it started ends, background ones too
  (as on OpenAI, a session keeps its kernel's state and its files, not processes);
- storage: what every session's tmpfs holds counts against `storage_budget_mb` for the
  server; past it, idle sessions are ended, least recently used first;
- images: at most `max_images` a call; the rest are counted in the call's logs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from assistantd.tools.code_interpreter.sandbox import (
    BWRAP_MISSING,
    Limits,
    Sandbox,
    SandboxError,
    kernel_missing,
)
from assistantd.tools.code_interpreter.uids import UidLeases

__all__ = ["CallResult", "Session", "SessionPool"]

log = logging.getLogger(__name__)


@dataclass
class CallResult:
    logs: str
    images: list[bytes] = field(default_factory=list)
    error: bool = False
    restarted: bool = False  # the session was lost (timeout, crash): state is gone
    images_dropped: int = 0  # displayed past the per-call cap: not kept


class _OverMemory(Exception):
    def __init__(self, used: int) -> None:
        super().__init__(used)
        self.used = used


_WATCH_S = 0.25  # how often a running call's memory is read
_MB = 1024 * 1024


@dataclass
class Session:
    key: tuple[str, str]
    sandbox: Sandbox | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    files: dict[str, str] = field(default_factory=dict)  # file_id → name in /mnt/data
    ending: asyncio.Task[None] | None = None  # its previous sandbox, being killed


class SessionPool:
    def __init__(
        self,
        *,
        bwrap: str | None,
        python: str,
        limits: Limits,
        idle_timeout_s: float = 1200.0,
        max_sessions: int = 32,
        uid_base: int = 200_000,
        spare: bool = True,
        storage_budget_mb: int = 4096,
    ) -> None:
        self.bwrap = bwrap
        self.storage_budget = storage_budget_mb * _MB
        self.python = python
        self.limits = limits
        self.idle_timeout_s = idle_timeout_s
        self.max_sessions = max_sessions
        # As root, each session's code runs as a uid of its own (its process limit is
        # its own, and no session can signal another's processes).
        self.uids = UidLeases(uid_base) if os.getuid() == 0 else None
        self.sessions: dict[tuple[str, str], Session] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._ending: set[asyncio.Task[None]] = set()
        self.keep_spare = spare
        self._spare: asyncio.Task[Sandbox] | None = None
        self._kernel_check: asyncio.Task[str | None] | None = None

    async def unavailable(self) -> str | None:
        """Why code cannot run here (no bwrap, no kernel in the Python), checked once."""
        if self.bwrap is None:
            return BWRAP_MISSING
        if self._kernel_check is None:
            self._kernel_check = asyncio.get_running_loop().create_task(kernel_missing(self.python))
        return await asyncio.shield(self._kernel_check)

    def start(self) -> None:
        """The idle reaper; and one warning at start-up if code cannot run here."""
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap_forever())
        if self.bwrap is None:
            log.warning("%s Runs that call code_interpreter will fail until then.", BWRAP_MISSING)
        else:
            self._kernel_check = asyncio.get_running_loop().create_task(kernel_missing(self.python))
            self._kernel_check.add_done_callback(_warn_if_missing)

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        for key in list(self.sessions):
            await self._drop(key)
        spare = await self._take_spare()
        if spare is not None:
            await self._end(spare)
        if self._ending:
            await asyncio.gather(*self._ending, return_exceptions=True)

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, min(30.0, self.idle_timeout_s / 4)))
            await self.reap()

    async def reap(self) -> int:
        """End the sessions idle for longer than the timeout; how many ended."""
        cutoff = time.monotonic() - self.idle_timeout_s
        idle = [k for k, s in self.sessions.items() if s.last_used < cutoff and not s.lock.locked()]
        for key in idle:
            await self._drop(key)
        return len(idle)

    async def _drop(self, key: tuple[str, str]) -> None:
        session = self.sessions.pop(key, None)
        if session is not None:
            await self._end(session.sandbox)

    async def _end(self, sandbox: Sandbox | None) -> None:
        """Kill the sandbox; its uid is free again only once every process is gone."""
        if sandbox is None:
            return
        await sandbox.kill()
        if self.uids is not None and sandbox.uid is not None:
            self.uids.give(sandbox.uid)

    def session(self, project: str, thread_id: str) -> Session:
        """The thread's session (made if new; its kernel starts at its first call)."""
        key = (project, thread_id)
        found = self.sessions.get(key)
        if found is not None:
            found.last_used = time.monotonic()
            return found
        if len(self.sessions) >= self.max_sessions:
            idle = [s for s in self.sessions.values() if not s.lock.locked()]
            if not idle:
                raise SandboxError(f"all {self.max_sessions} code sessions of this server are busy")
            oldest = min(idle, key=lambda s: s.last_used)
            self.sessions.pop(oldest.key)
            self._end_later(oldest.sandbox)
        created = self.sessions[key] = Session(key=key)
        return created

    def _end_later(self, sandbox: Sandbox | None) -> asyncio.Task[None]:
        """Kill now, reap in the background: the caller must not wait for it."""
        if sandbox is not None:
            sandbox.kill_now()
        task = asyncio.get_running_loop().create_task(self._end(sandbox))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)
        return task

    async def _launch(self) -> Sandbox:
        """A new sandbox, as a uid leased for it when the server is root."""
        assert self.bwrap is not None
        uid = None
        if self.uids is not None:
            uid = self.uids.take()
            if uid is None:
                raise SandboxError("no free uid for a code session")
        try:
            return await Sandbox.start(self.bwrap, self.python, self.limits, uid=uid)
        except BaseException:
            if self.uids is not None and uid is not None:
                self.uids.give(uid)
            raise

    async def _take_spare(self) -> Sandbox | None:
        """The spare sandbox (waiting for it if it is still starting: it started first)."""
        task, self._spare = self._spare, None
        if task is None:
            return None
        try:
            sandbox = await task
        except Exception:
            return None
        if not sandbox.alive:
            await self._end(sandbox)
            return None
        return sandbox

    def _refill(self) -> None:
        if self.keep_spare and self._spare is None and len(self.sessions) < self.max_sessions:
            self._spare = asyncio.get_running_loop().create_task(self._launch())

    async def _sandbox(self, session: Session) -> Sandbox:
        if session.ending is not None:
            await asyncio.gather(session.ending, return_exceptions=True)
            session.ending = None
        if session.sandbox is None or not session.sandbox.alive:
            await self._end(session.sandbox)  # a dead one's uid is released
            session.sandbox = None
            session.files.clear()
            session.sandbox = await self._take_spare() or await self._launch()
            self._refill()
        return session.sandbox

    async def restart(self, session: Session) -> None:
        """Lose the session's state (its kernel and /mnt/data); the next call starts anew."""
        sandbox, session.sandbox = session.sandbox, None
        session.files.clear()
        await self._end(sandbox)

    async def put_files(
        self,
        session: Session,
        names: dict[str, str],
        read: Callable[[str], Awaitable[bytes | None]],
    ) -> None:
        """Copy in the files (file_id → name) the session does not have yet; a File
        gone (or too large) is skipped."""
        sandbox = await self._sandbox(session)
        for file_id, name in names.items():
            if session.files.get(file_id) != name:
                data = await read(file_id)
                if data is not None:
                    await sandbox.put(name, data)
                    session.files[file_id] = name

    async def _watched(self, sandbox: Sandbox, code: str) -> dict[str, Any]:
        """The call's reply; `_OverMemory` (the sandbox killed) if the session's memory
        passes its cap while it runs, or when it returns."""
        limits = self.limits
        cap = limits.session_memory_mb * _MB
        call = asyncio.ensure_future(
            sandbox.execute(code, limits.call_timeout_s, limits.max_images)
        )
        try:
            while True:
                done, _ = await asyncio.wait({call}, timeout=_WATCH_S)
                used = await asyncio.to_thread(sandbox.memory_bytes)
                if used > cap:
                    sandbox.kill_now()
                    raise _OverMemory(used)
                if done:
                    return call.result()
        finally:
            if not call.done():
                call.cancel()
                await asyncio.gather(call, return_exceptions=True)

    async def execute(self, session: Session, code: str) -> CallResult:
        session.last_used = time.monotonic()
        try:
            sandbox = await self._sandbox(session)
            reply = await self._watched(sandbox, code)
            ended = await sandbox.end_strays()
            if ended:
                log.info("ended %d process(es) a code call left running", ended)
        except _OverMemory as over:
            await self.restart(session)
            return CallResult(
                logs=f"The session used {over.used // _MB} MB, more than its "
                f"{self.limits.session_memory_mb} MB (its processes and files together), "
                "and was stopped. It was restarted: variables and files in /mnt/data from "
                "earlier calls are gone.",
                error=True,
                restarted=True,
            )
        except asyncio.CancelledError:
            # The run was cancelled: the code must stop now, not when it finishes.
            session.ending = self._end_later(session.sandbox)
            session.sandbox = None
            session.files.clear()
            raise
        except TimeoutError:
            await self.restart(session)
            return CallResult(
                logs=f"Execution timed out after {self.limits.call_timeout_s:g} seconds and "
                "was stopped. The session was restarted: variables and files in "
                "/mnt/data from earlier calls are gone.",
                error=True,
                restarted=True,
            )
        except SandboxError as error:
            await self.restart(session)
            return CallResult(
                logs=f"The Python session ended unexpectedly ({error}), most likely a "
                "resource limit (memory, processes, CPU time). It was restarted: variables "
                "and files in /mnt/data from earlier calls are gone.",
                error=True,
                restarted=True,
            )
        finally:
            session.last_used = time.monotonic()
        await self._keep_storage_budget(session)
        return _result(reply)

    async def _keep_storage_budget(self, current: Session) -> None:
        """Past the server's budget for tmpfs, end idle sessions, oldest use first."""
        held = [s for s in self.sessions.values() if s.sandbox is not None]
        sizes = await asyncio.to_thread(
            lambda: {s.key: s.sandbox.tmpfs_bytes() for s in held if s.sandbox is not None}
        )
        total = sum(sizes.values())
        idle = sorted(
            (s for s in held if s is not current and not s.lock.locked()),
            key=lambda s: s.last_used,
        )
        while total > self.storage_budget and idle:
            victim = idle.pop(0)
            total -= sizes.get(victim.key, 0)
            log.warning(
                "code sessions hold more than %d MB of files: ending an idle one",
                self.storage_budget // _MB,
            )
            await self._drop(victim.key)

    async def fetch(self, session: Session, name: str, max_bytes: int) -> bytes | None:
        if session.sandbox is None or not session.sandbox.alive:
            return None
        try:
            return await session.sandbox.get(name, max_bytes)
        except SandboxError:
            return None


def _warn_if_missing(check: asyncio.Task[str | None]) -> None:
    if not check.cancelled() and check.exception() is None and (problem := check.result()):
        log.warning("%s Runs that call code_interpreter will fail until then.", problem)


def _result(reply: dict[str, Any]) -> CallResult:
    if not reply.get("ok"):
        return CallResult(logs=f"The Python session failed: {reply.get('error')}", error=True)
    images = [base64.b64decode(png) for png in reply.get("images") or []]
    return CallResult(
        logs=str(reply.get("logs") or ""),
        images=images,
        error=bool(reply["error"]),
        images_dropped=int(reply.get("images_dropped") or 0),
    )
