"""The archive's layout, its manifest, and reading and writing it as a directory or a
tarball. Everything else about archives (what is in them, how they are made and loaded)
is in export.py and load.py."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import sys
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import IO, TypedDict

from sqlalchemy import Table

from assistantd.store.tables import Base

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Manifest",
    "Progress",
    "archived_tables",
    "copy_hashed",
    "pack",
    "sha256_of",
    "synced",
    "unpacked",
]

FORMAT = "assistantd-archive"
FORMAT_VERSION = 1
_CHUNK = 1024 * 1024


class FileEntry(TypedDict):
    rows: int
    sha256: str


class BlobEntry(TypedDict):
    bytes: int
    sha256: str


class Manifest(TypedDict):
    format: str
    format_version: int
    source_version: str
    created_at: int
    backend: str
    project: str | None
    # Which model made the chunks' embeddings: an import with another re-embeds them.
    embedding: str
    tables: dict[str, FileEntry]
    chunks: FileEntry
    blobs: dict[str, BlobEntry]  # by File id
    gone: list[str]  # Files deleted while the export ran: rows kept, no bytes


def archived_tables() -> list[Table]:
    """Every mapped table, parents before children (the order rows are loaded in)."""
    return list(Base.metadata.sorted_tables)


def sha256_of(path: Path) -> str:
    """The file's sha256, read into one reused buffer (a memory map was slower: a page
    fault every 4 KiB)."""
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while size := f.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def copy_hashed(source: Path, target: Path) -> tuple[int, str]:
    """Copy a file (in the kernel: copy_file_range or sendfile) and hash it: (bytes,
    sha256). The bytes are read twice, from the page cache the second time; both
    reads see the same bytes because a File's bytes never change once kept."""
    digest = sha256_of(source)
    shutil.copyfile(source, target)
    return target.stat().st_size, digest


class Progress:
    """A one-line progress report on a terminal; nothing otherwise (cron, CI, pipes)."""

    def __init__(self, verb: str, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.shown = self.stream.isatty()
        self.verb = verb

    def step(self, what: str, done: int) -> None:
        if self.shown:
            self.stream.write(f"\r{self.verb} {what}: {done:,}\033[K")
            self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")


def _compression(path: Path) -> str | None:
    name = path.name
    if name.endswith((".tar.gz", ".tgz")):
        return "gz"
    if name.endswith(".tar.zst"):
        return "zst"
    return None


def pack(source: Path, target: Path) -> None:
    """The archive directory `source` as the tarball `target` (written, then renamed)."""
    kind = _compression(target)
    partial = target.with_name(target.name + ".partial")
    if kind == "gz":
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(source, arcname=".")
    else:
        import zstandard

        with (
            open(partial, "wb") as raw,
            zstandard.ZstdCompressor().stream_writer(raw) as out,
            tarfile.open(fileobj=out, mode="w|") as tar,
        ):
            tar.add(source, arcname=".")
    synced([partial])
    os.replace(partial, target)
    synced([target.parent])


def synced(paths: list[Path]) -> None:
    """Files (and folders: their entries) on disk. An archive not yet on disk is no
    backup, and `backup` removes older ones once a new one is written.

    On Linux one syncfs(2) per filesystem rather than an fsync per file: each fsync
    waits for a flush of the disk (100 Files took 4.5 s that way, one syncfs and a
    plain copy together 1.2 s)."""
    by_device: dict[int, Path] = {}
    for path in paths:
        by_device.setdefault(path.stat().st_dev, path)
    syncfs = _syncfs()
    for path in by_device.values() if syncfs is not None else paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            if syncfs is None:
                os.fsync(fd)
            elif syncfs(fd) != 0:
                raise OSError(ctypes.get_errno(), f"syncfs failed for {path}")
        finally:
            os.close(fd)


@cache
def _syncfs() -> Callable[[int], int] | None:
    try:
        function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # not Linux (or no glibc symbol): fsync each
        return None
    return function


@contextmanager
def unpacked(path: Path, scratch: Path) -> Iterator[Path]:
    """The archive at `path` as a directory: itself, or a tarball unpacked in `scratch`
    (removed after). A damaged tarball raises tarfile.TarError or OSError."""
    kind = _compression(path)
    if path.is_dir() or kind is None:
        yield path
        return
    target = scratch / "unpacked"
    try:
        if kind == "gz":
            with tarfile.open(path, "r:gz") as tar:
                tar.extractall(target, filter="data")
        else:
            import zstandard

            with (
                open(path, "rb") as raw,
                zstandard.ZstdDecompressor().stream_reader(raw) as src,
                tarfile.open(fileobj=src, mode="r|") as tar,
            ):
                tar.extractall(target, filter="data")
        yield target
    finally:
        shutil.rmtree(target, ignore_errors=True)
