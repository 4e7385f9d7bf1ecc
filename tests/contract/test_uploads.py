"""The Uploads API: `uploads.upload_file_chunked`, and every way an Upload can go wrong."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.conftest import make_client
from tests.contract.helpers import error_body
from tests.servers import Server, running_server

DATA = bytes(range(256)) * 4096  # 1 MiB


def _parts_dir(server: Server) -> Path:
    return server.data_dir / "blobs" / "parts"


def _part_blobs(server: Server) -> list[Path]:
    d = _parts_dir(server)
    return [p for p in d.rglob("*") if p.is_file()] if d.exists() else []


def test_upload_file_chunked_from_bytes_and_path(client: openai.OpenAI, tmp_path: Path) -> None:
    upload = client.uploads.upload_file_chunked(
        file=DATA,
        filename="big.bin",
        bytes=len(DATA),
        mime_type="application/octet-stream",
        purpose="assistants",
        part_size=300_000,
        md5=hashlib.md5(DATA).hexdigest(),
    )
    assert upload.id.startswith("upload_")
    assert upload.status == "completed"
    assert upload.file is not None
    assert (upload.file.bytes, upload.file.filename) == (len(DATA), "big.bin")
    assert client.files.content(upload.file.id).read() == DATA
    path = tmp_path / "report.txt"
    path.write_bytes(b"line\n" * 50_000)
    from_path = client.uploads.upload_file_chunked(
        file=path, mime_type="text/plain", purpose="assistants", part_size=64 * 1024
    )
    assert from_path.file is not None
    assert client.files.content(from_path.file.id).read() == path.read_bytes()


def _start(client: openai.OpenAI, size: int = 6, ttl: int = 3600) -> tuple[str, list[str]]:
    upload = client.uploads.create(
        bytes=size, filename="x.txt", mime_type="text/plain", purpose="assistants"
    )
    assert (upload.status, upload.object, upload.bytes) == ("pending", "upload", size)
    assert upload.expires_at == upload.created_at + ttl
    parts = [client.uploads.parts.create(upload.id, data=chunk).id for chunk in (b"abc", b"def")]
    return upload.id, parts


def test_parts_join_in_the_order_given(client: openai.OpenAI) -> None:
    upload_id, (first, second) = _start(client)
    done = client.uploads.complete(upload_id, part_ids=[second, first])
    assert done.file is not None
    assert client.files.content(done.file.id).read() == b"defabc"


def test_out_of_order_parts_fail_the_md5_and_are_cleaned_up(
    client: openai.OpenAI, server: Server
) -> None:
    upload_id, (first, second) = _start(client)
    with pytest.raises(openai.BadRequestError) as info:
        client.uploads.complete(
            upload_id, part_ids=[second, first], md5=hashlib.md5(b"abcdef").hexdigest()
        )
    assert error_body(info.value)["param"] == "md5"
    assert not any(p.name in (first, second) for p in _part_blobs(server))
    with pytest.raises(openai.BadRequestError) as again:
        client.uploads.complete(upload_id, part_ids=[first, second])
    assert "cancelled" in error_body(again.value)["message"]


def test_wrong_parts_and_byte_counts_are_refused(client: openai.OpenAI, server: Server) -> None:
    upload_id, (first, _second) = _start(client)
    with pytest.raises(openai.BadRequestError) as info:
        client.uploads.complete(upload_id, part_ids=[first])
    assert error_body(info.value)["code"] == "bytes_mismatch"
    assert not any(p.name == first for p in _part_blobs(server))

    upload_id, (first, second) = _start(client)
    with pytest.raises(openai.BadRequestError) as info:
        client.uploads.complete(upload_id, part_ids=[first, "part_notmine"])
    assert error_body(info.value)["param"] == "part_ids[1]"

    upload_id, (first, second) = _start(client)
    with pytest.raises(openai.BadRequestError) as info:
        client.uploads.complete(upload_id, part_ids=[first, first, second])
    assert error_body(info.value)["code"] == "duplicate_part"

    upload_id, _ = _start(client)
    with pytest.raises(openai.BadRequestError) as info:
        client.uploads.parts.create(upload_id, data=b"one byte too many")
    assert error_body(info.value)["code"] == "upload_too_large"


def test_cancel_frees_parts_and_ends_the_upload(client: openai.OpenAI, server: Server) -> None:
    upload_id, parts = _start(client)
    assert {p.name for p in _part_blobs(server)} >= set(parts)
    cancelled = client.uploads.cancel(upload_id)
    assert cancelled.status == "cancelled"
    assert not {p.name for p in _part_blobs(server)} & set(parts)
    for call in (
        lambda: client.uploads.complete(upload_id, part_ids=parts),
        lambda: client.uploads.parts.create(upload_id, data=b"x"),
        lambda: client.uploads.cancel(upload_id),
    ):
        with pytest.raises(openai.BadRequestError) as info:
            call()
        assert error_body(info.value)["code"] == "upload_not_pending"


def test_completed_upload_cannot_change(client: openai.OpenAI) -> None:
    upload_id, parts = _start(client)
    client.uploads.complete(upload_id, part_ids=parts)
    with pytest.raises(openai.BadRequestError):
        client.uploads.cancel(upload_id)
    with pytest.raises(openai.BadRequestError):
        client.uploads.complete(upload_id, part_ids=parts)


def test_unknown_upload_is_404_and_bad_create_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.uploads.cancel("upload_missing")
    with pytest.raises(openai.BadRequestError) as info:
        client.uploads.create(bytes=1, filename="x", mime_type="text/plain", purpose="homework")  # type: ignore[arg-type]
    assert error_body(info.value)["param"] == "purpose"
    with pytest.raises(openai.BadRequestError) as info:
        client.uploads.create(bytes=1, filename="", mime_type="text/plain", purpose="assistants")
    assert error_body(info.value)["param"] == "filename"


@pytest.fixture(scope="module")
def short_lived(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "ASSISTANTD_UPLOAD_TTL_S": "2",
        "ASSISTANTD_MAX_FILE_BYTES": "1000",
        "ASSISTANTD_MAX_UPLOAD_PART_BYTES": "100",
    }
    with running_server(backend, tmp_path_factory.mktemp(f"uploads-{backend}"), env) as srv:
        yield srv


def test_expired_upload_cannot_complete_and_frees_parts(short_lived: Server) -> None:
    with make_client(short_lived.base_url) as client:
        upload_id, parts = _start(client, ttl=2)
        time.sleep(3.1)
        with pytest.raises(openai.BadRequestError) as info:
            client.uploads.complete(upload_id, part_ids=parts)
    assert "'expired'" in error_body(info.value)["message"]
    assert not {p.name for p in _part_blobs(short_lived)} & set(parts)


def test_upload_limits(short_lived: Server) -> None:
    with make_client(short_lived.base_url) as client:
        with pytest.raises(openai.BadRequestError) as info:
            client.uploads.create(
                bytes=1001, filename="x", mime_type="text/plain", purpose="assistants"
            )
        assert error_body(info.value)["code"] == "file_too_large"
        upload = client.uploads.create(
            bytes=500, filename="x", mime_type="text/plain", purpose="assistants"
        )
        with pytest.raises(openai.APIStatusError) as too_big:
            client.uploads.parts.create(upload.id, data=b"x" * 101)
    assert too_big.value.status_code == 413
    assert _part_blobs(short_lived) == []
