"""Uploads are bounded and stream to disk: over-size, abandoned and huge uploads."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, running_server

LIMIT = 1024 * 1024
BOUNDARY = "assistantd-test-boundary"


@pytest.fixture(scope="module")
def small_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"limits-{backend}")
    with running_server(backend, tmp, env={"ASSISTANTD_MAX_FILE_BYTES": str(LIMIT)}) as srv:
        yield srv


def _multipart_stream(size: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    """A multipart body with a `size`-byte file, generated as it is sent."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = hashlib.sha256(b"seed").digest() * (chunk // 32)
    sent = 0
    while sent < size:
        piece = block[: min(chunk, size - sent)]
        sent += len(piece)
        yield piece
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _expected_sha(size: int, chunk: int = 1024 * 1024) -> str:
    digest = hashlib.sha256()
    block = hashlib.sha256(b"seed").digest() * (chunk // 32)
    sent = 0
    while sent < size:
        piece = block[: min(chunk, size - sent)]
        sent += len(piece)
        digest.update(piece)
    return digest.hexdigest()


_HEADERS = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def _leftovers(server: Server) -> list[Path]:
    blobs = server.data_dir / "blobs"
    return [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else []


def _no_files(server: Server) -> bool:
    return httpx.get(f"{server.base_url}/v1/files").json()["data"] == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversize_upload_is_413_and_leaves_nothing(small_server: Server, chunked: bool) -> None:
    body: bytes | Iterator[bytes] = _multipart_stream(2 * LIMIT)
    if not chunked:
        body = b"".join(body)
    response = httpx.post(
        f"{small_server.base_url}/v1/files", content=body, headers=_HEADERS, timeout=60
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "file_too_large"
    assert _leftovers(small_server) == []
    assert _no_files(small_server)


def test_upload_at_the_limit_is_accepted(small_server: Server) -> None:
    response = httpx.post(
        f"{small_server.base_url}/v1/files",
        content=b"".join(_multipart_stream(LIMIT)),
        headers=_HEADERS,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["bytes"] == LIMIT
    httpx.delete(f"{small_server.base_url}/v1/files/{response.json()['id']}")


def test_client_disconnect_mid_upload_leaves_nothing(small_server: Server) -> None:
    body = b"".join(_multipart_stream(LIMIT // 2))
    head = (
        f"POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", small_server.port)) as sock:
        sock.sendall(head + body[: len(body) // 2])
        deadline = time.monotonic() + 10
        # The server has started writing a temporary blob...
        while not _leftovers(small_server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _leftovers(small_server), "the upload never reached the disk"
    # ...and removes it once the client is gone.
    deadline = time.monotonic() + 10
    while _leftovers(small_server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _leftovers(small_server) == []
    assert _no_files(small_server)


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_large_upload_streams_with_bounded_memory(tmp_path: Path) -> None:
    """300 MB in and out, while the server's peak RSS grows by far less than that."""
    size = 300 * 1024 * 1024
    with running_server("sqlite", tmp_path) as server:
        assert server.process is not None
        # Warm the code paths first, so that imports do not count as upload memory.
        warm = httpx.post(
            f"{server.base_url}/v1/files",
            content=b"".join(_multipart_stream(1024)),
            headers=_HEADERS,
        )
        assert warm.status_code == 200
        before = _peak_rss_kib(server.process.pid)
        response = httpx.post(
            f"{server.base_url}/v1/files",
            content=_multipart_stream(size),
            headers=_HEADERS,
            timeout=300,
        )
        assert response.status_code == 200, response.text
        file_id = response.json()["id"]
        assert response.json()["bytes"] == size
        digest = hashlib.sha256()
        with httpx.stream("GET", f"{server.base_url}/v1/files/{file_id}/content", timeout=300) as r:
            for chunk in r.iter_bytes():
                digest.update(chunk)
        assert digest.hexdigest() == _expected_sha(size)
        grew_mib = (_peak_rss_kib(server.process.pid) - before) / 1024
    assert grew_mib < 64, f"peak RSS grew by {grew_mib:.0f} MiB for a 300 MiB upload"
    assert os.path.getsize(tmp_path / "blobs" / "files" / file_id[-2:] / file_id) == size
