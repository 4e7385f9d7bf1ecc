"""LocalDirBlobStore: keep, concat, delete, and sweeping abandoned temporaries."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from assistantd.store.blobs import LocalDirBlobStore


def test_temp_is_invisible_until_kept(tmp_path: Path) -> None:
    store = LocalDirBlobStore(tmp_path)
    temp = store.temp()
    temp.write(b"hello ")
    temp.write(b"world")
    assert temp.size == 11
    assert not store.path("files/file-abc").exists()
    store.keep(temp, "files/file-abc")
    assert store.path("files/file-abc").read_bytes() == b"hello world"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_discard_and_delete_free_the_bytes(tmp_path: Path) -> None:
    store = LocalDirBlobStore(tmp_path)
    temp = store.temp()
    temp.write(b"x" * 1000)
    temp.discard()
    assert list((tmp_path / "tmp").iterdir()) == []
    kept = store.temp()
    kept.write(b"y")
    store.keep(kept, "files/file-xyz")
    store.delete("files/file-xyz")
    store.delete("files/file-xyz")  # twice is fine
    assert not store.path("files/file-xyz").exists()


def test_concat_joins_in_order_and_hashes(tmp_path: Path) -> None:
    import hashlib

    store = LocalDirBlobStore(tmp_path)
    for key, data in (("parts/part_a", b"abc"), ("parts/part_b", b"def")):
        temp = store.temp()
        temp.write(data)
        store.keep(temp, key)
    joined = store.concat(["parts/part_b", "parts/part_a"])
    assert joined.size == 6
    assert joined.md5 == hashlib.md5(b"defabc").hexdigest()
    store.keep(joined, "files/file-joined")
    assert store.path("files/file-joined").read_bytes() == b"defabc"


def test_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    store = LocalDirBlobStore(tmp_path)
    for key in ("files/../etc", "files/", "nokind", "files/a/b", "files/.hidden"):
        with pytest.raises(ValueError, match="bad blob key"):
            store.path(key)


def test_sweep_removes_only_old_temporaries(tmp_path: Path) -> None:
    store = LocalDirBlobStore(tmp_path)
    old = store.temp()
    old.write(b"old")
    old.finish()
    past = time.time() - 3600
    os.utime(old.path, (past, past))
    fresh = store.temp()
    fresh.write(b"new")
    assert store.sweep_temps(older_than_s=600) == 1
    assert not old.path.exists()
    assert fresh.path.exists()
    fresh.discard()
