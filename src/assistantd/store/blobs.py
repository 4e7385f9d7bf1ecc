"""File bytes: a small interface, and the local-directory implementation used by default.

Each File's bytes live in one file named by the File's id, so deleting the File frees
its bytes at once (no reference counting, no sharing between tenants). Bytes arrive
in a temporary file under the same root and are renamed into place only when
complete, so a failed or abandoned upload never leaves a partial blob where a File
could point at it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["file_key", "BlobStore", "LocalDirBlobStore", "TempBlob"]

_COPY_CHUNK = 1024 * 1024
_HOST = socket.gethostname().replace("~", "-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class TempBlob:
    """Bytes being received: appended chunk by chunk, counted, hashed, then kept or dropped."""

    def __init__(self, path: Path, *, md5: bool = False) -> None:
        self.path = path
        self.size = 0
        # Only joined Upload parts are checked against an md5; hashing costs about as
        # much as receiving, so plain uploads skip it.
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 - closed in finish()

    def write(self, chunk: bytes) -> None:
        assert self._file is not None, "write after finish"
        self._file.write(chunk)
        if self._md5 is not None:
            self._md5.update(chunk)
        self.size += len(chunk)

    @property
    def md5(self) -> str:
        assert self._md5 is not None, "this blob was not hashed"
        return self._md5.hexdigest()

    def finish(self) -> None:
        """Flush to disk; after this the bytes survive a crash once renamed into place."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
        self.close()

    def close(self) -> None:
        """Done writing, not yet synced: for a caller that syncs many kept blobs at once."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def file_key(file_id: str) -> str:
    """The blob key of a File's bytes."""
    return f"files/{file_id}"


class BlobStore(Protocol):
    def temp(self, *, md5: bool = False) -> TempBlob:
        """A new, empty temporary blob, hashed as it is written if `md5`."""
        ...

    def keep(self, temp: TempBlob, key: str) -> None:
        """Make a finished temporary blob the content of `key` (atomically)."""
        ...

    def concat(self, keys: Iterable[str]) -> TempBlob:
        """A finished temporary blob holding the given blobs' bytes, in order."""
        ...

    def path(self, key: str) -> Path:
        """Where `key`'s bytes can be read (for streaming them to a client)."""
        ...

    def delete(self, key: str) -> None:
        """Free `key`'s bytes; deleting what is not there is not an error."""
        ...

    def sweep_temps(self, older_than_s: float) -> int:
        """Remove temporary blobs abandoned by crashed processes; returns how many."""
        ...

    def sweep_orphans(self) -> int:
        """Remove temporary blobs of this host's processes that are gone; returns how many."""
        ...


class LocalDirBlobStore:
    """Blobs as files under `root`: `<root>/<kind>/<2 chars>/<key>`, temps in `<root>/tmp`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def temp(self, *, md5: bool = False) -> TempBlob:
        # Named by host and process, so a restarted server can tell its dead
        # predecessors' temps (removed at once) from live neighbours' (left alone).
        return TempBlob(self._tmp / f"{_HOST}~{os.getpid()}~{uuid.uuid4().hex}", md5=md5)

    def sweep_orphans(self) -> int:
        """Remove temps left by processes of this host that no longer run (a `kill -9`
        mid-upload); returns how many. Other hosts' temps wait for `sweep_temps`."""
        removed = 0
        for entry in self._tmp.iterdir():
            host, _, rest = entry.name.partition("~")
            pid = rest.partition("~")[0]
            if host != _HOST or not pid.isdigit() or _alive(int(pid)):
                continue
            entry.unlink(missing_ok=True)
            removed += 1
        return removed

    def path(self, key: str) -> Path:
        kind, _, name = key.partition("/")
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"bad blob key {key!r}")
        # Shard by the random tail of the id, not its time-ordered head.
        return self.root / kind / name[-2:] / name

    def keep(self, temp: TempBlob, key: str) -> None:
        temp.finish()
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp.path, target)

    def concat(self, keys: Iterable[str]) -> TempBlob:
        out = self.temp(md5=True)
        try:
            for key in keys:
                with open(self.path(key), "rb") as part:
                    while chunk := part.read(_COPY_CHUNK):
                        out.write(chunk)
            out.finish()
        except BaseException:
            out.discard()
            raise
        return out

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def sweep_temps(self, older_than_s: float) -> int:
        cutoff = time.time() - older_than_s
        removed = 0
        for entry in self._tmp.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
