"""Uids for code sessions, unique across every assistantd process on the host.

As root, each session's code runs as a uid of its own: the kernel counts RLIMIT_NPROC
per uid, so a uid shared by two sessions (of this process, or of a `serve` and a
`worker` beside it) would let one's fork bomb starve the other. A uid is leased by
holding an exclusive `flock` on a file named after it; the lock dies with the process,
so a crashed server leaks nothing.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

__all__ = ["UidLeases"]

_SPAN = 100_000  # uids tried above the base


def _lock_dir() -> Path:
    for parent in (Path("/run"), Path(tempfile.gettempdir())):
        directory = parent / f"assistantd-uids-{os.geteuid()}"
        try:
            directory.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            continue
        if os.access(directory, os.W_OK):
            return directory
    raise OSError("no writable directory for code session uid locks")


class UidLeases:
    def __init__(self, base: int, directory: Path | None = None) -> None:
        self.base = base
        self.directory = directory or _lock_dir()
        self.held: dict[int, int] = {}  # uid → the fd holding its lock
        self._next = 0  # where the next search starts: a released uid is not reused at once

    def take(self) -> int | None:
        for step in range(_SPAN):
            uid = self.base + (self._next + step) % _SPAN
            if uid in self.held:
                continue
            fd = os.open(self.directory / f"{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.held[uid] = fd
            self._next = (uid - self.base + 1) % _SPAN
            return uid
        return None

    def give(self, uid: int) -> None:
        fd = self.held.pop(uid, None)
        if fd is not None:
            os.close(fd)  # releases the lock
