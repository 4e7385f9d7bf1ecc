"""Hostile connections: huge headers, slow headers, too many connections, stalled uploads.

Each test is bounded in bytes and seconds (they run on two cores), and checks both that
the hostile connection is refused and closed, and that other clients are still served.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import Server, running_server

LIMITS = {
    "ASSISTANTD_MAX_HEADER_BYTES": "16384",
    "ASSISTANTD_HEADER_TIMEOUT_S": "1",
    "ASSISTANTD_BODY_IDLE_TIMEOUT_S": "1",
    "ASSISTANTD_MAX_CONNECTIONS": "40",
}


@pytest.fixture(scope="module")
def limited(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(backend, tmp_path_factory.mktemp(f"limits-{backend}"), LIMITS) as srv:
        yield srv


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.settimeout(5)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _healthy(server: Server) -> bool:
    return httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200


def test_oversized_headers_get_431_and_a_closed_connection(limited: Server) -> None:
    sock = _connect(limited)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
    sent = 0
    filler = b"a" * 8192
    try:
        while sent < 4 * 1024 * 1024:  # a streaming hostile client; the server stops it
            sock.sendall(filler)
            sent += len(filler)
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = _read_all(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    assert b'"code":"request_header_fields_too_large"' in answer
    assert sent < 4 * 1024 * 1024  # cut off long before the client was done
    assert _healthy(limited)


def test_headers_under_the_limit_are_served(limited: Server) -> None:
    answer = httpx.get(f"{limited.base_url}/health", headers={"X-Fine": "a" * 8000})
    assert answer.status_code == 200


def test_slow_headers_time_out_while_others_are_served(limited: Server) -> None:
    slow = [_connect(limited) for _ in range(20)]
    for sock in slow:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert _healthy(limited)  # others are served meanwhile
    started = time.monotonic()
    answers = [_read_all(sock) for sock in slow]
    for sock in slow:
        sock.close()
    assert time.monotonic() - started < 5
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers[0][:100]
    idle = _connect(limited)  # a connection that never sends a byte is closed too
    assert _read_all(idle).startswith(b"HTTP/1.1 408 ")
    idle.close()


def test_connections_past_the_cap_are_refused_with_a_warning(limited: Server) -> None:
    held = [_connect(limited) for _ in range(45)]
    try:
        time.sleep(0.2)
        refused = []
        for sock in held[38:]:
            sock.settimeout(0.5)
            try:
                refused.append(sock.recv(200))
            except TimeoutError:
                refused.append(b"")
        assert any(r.startswith(b"HTTP/1.1 503 ") for r in refused), refused
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    assert _healthy(limited)
    assert (
        "more than ASSISTANTD_MAX_CONNECTIONS=40" in (limited.data_dir / "server.log").read_text()
    )


def test_a_stalled_upload_is_cut_off_and_leaves_no_temp_file(limited: Server) -> None:
    boundary = b"stall"
    head = (
        b'--stall\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        b'--stall\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    sock = _connect(limited)
    sock.sendall(
        b"POST /v1/files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary="
        + boundary
        + b"\r\nContent-Length: 10000000\r\n\r\n"
        + head
        + b"x" * 200_000
    )
    time.sleep(0.3)
    temps = list((limited.data_dir / "blobs" / "tmp").iterdir())
    assert temps  # the upload is in progress: its bytes are in a temp file
    answer = _read_all(sock)  # then the client goes silent
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert b'"code":"request_timeout"' in answer
    assert not list((limited.data_dir / "blobs" / "tmp").iterdir())
    assert _healthy(limited)


def test_a_stalled_json_body_is_cut_off(limited: Server) -> None:
    sock = _connect(limited)
    sock.sendall(
        b"POST /v1/threads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"metadata": '
    )
    answer = _read_all(sock)  # the client never sends the rest
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert b'"code":"request_timeout"' in answer
    assert _healthy(limited)


def test_an_upload_cut_by_a_disconnect_leaves_no_temp_file(limited: Server) -> None:
    sock = _connect(limited)
    sock.sendall(
        b"POST /v1/files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
        b"boundary=cut\r\nContent-Length: 10000000\r\n\r\n--cut\r\nContent-Disposition: "
        b'form-data; name="file"; filename="a.bin"\r\n\r\n' + b"y" * 100_000
    )
    time.sleep(0.3)
    sock.close()
    deadline = time.monotonic() + 5
    while list((limited.data_dir / "blobs" / "tmp").iterdir()):
        assert time.monotonic() < deadline, "the temp file outlived its connection"
        time.sleep(0.05)


def test_temp_files_of_a_killed_server_are_removed_at_start_up(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp(f"killed-{backend}")
    with running_server(backend, tmp) as srv:
        sock = _connect(srv)
        sock.sendall(
            b"POST /v1/files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
            b"boundary=k\r\nContent-Length: 10000000\r\n\r\n--k\r\nContent-Disposition: "
            b'form-data; name="file"; filename="a.bin"\r\n\r\n' + b"z" * 100_000
        )
        time.sleep(0.3)
        assert srv.process is not None
        srv.process.kill()  # kill -9 mid-upload
        srv.stop()
        sock.close()
        left = list((tmp / "blobs" / "tmp").iterdir())
        assert left  # the dead process could not clean up
        srv.start()
        assert not any(p.exists() for p in left)
        assert "removed 1 temp files" in (tmp / "server.log").read_text()
