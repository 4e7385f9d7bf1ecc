"""Files through the official SDK: upload three ways, list, retrieve, download, delete."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import openai
import pytest

from tests.contract.helpers import error_body
from tests.servers import Server

BINARY = bytes(range(256)) * 64 + b"\x00\xff end"


def _blob(server: Server, file_id: str) -> Path:
    return server.data_dir / "blobs" / "files" / file_id[-2:] / file_id


def test_upload_from_bytes_path_and_handle(
    client: openai.OpenAI, server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(b"a,b\n1,2\n")
    from_bytes = client.files.create(file=("data.bin", BINARY), purpose="assistants")
    from_path = client.files.create(file=path, purpose="user_data")
    with path.open("rb") as handle:
        from_handle = client.files.create(file=handle, purpose="vision")
    assert from_bytes.id.startswith("file-")
    assert (from_bytes.object, from_bytes.status) == ("file", "processed")
    assert (from_bytes.filename, from_bytes.bytes, from_bytes.purpose) == (
        "data.bin",
        len(BINARY),
        "assistants",
    )
    assert (from_path.filename, from_path.bytes, from_path.purpose) == (
        "report.csv",
        8,
        "user_data",
    )
    assert (from_handle.filename, from_handle.purpose) == ("report.csv", "vision")
    assert client.files.retrieve(from_bytes.id) == from_bytes
    assert client.files.content(from_bytes.id).read() == BINARY
    assert client.files.content(from_path.id).read() == b"a,b\n1,2\n"
    assert _blob(server, from_bytes.id).read_bytes() == BINARY


def test_content_type_follows_the_filename(client: openai.OpenAI, server: Server) -> None:
    text = client.files.create(file=("notes.txt", b"hello"), purpose="assistants")
    raw = httpx.get(f"{server.base_url}/v1/files/{text.id}/content")
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.content == b"hello"
    unknown = client.files.create(file=("blob.unknownext", b"\x01"), purpose="assistants")
    raw = httpx.get(f"{server.base_url}/v1/files/{unknown.id}/content")
    assert raw.headers["content-type"] == "application/octet-stream"


def test_delete_frees_the_bytes(client: openai.OpenAI, server: Server) -> None:
    created = client.files.create(file=("gone.txt", b"bye"), purpose="assistants")
    assert _blob(server, created.id).exists()
    deleted = client.files.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "file", True)
    assert not _blob(server, created.id).exists()
    for call in (
        lambda: client.files.retrieve(created.id),
        lambda: client.files.content(created.id),
        lambda: client.files.delete(created.id),
    ):
        with pytest.raises(openai.NotFoundError) as info:
            call()
        assert error_body(info.value)["message"] == f"No file found with id '{created.id}'."


def test_list_filters_orders_and_paginates(client: openai.OpenAI) -> None:
    ids = [client.files.create(file=(f"f{i}.txt", b"x"), purpose="batch").id for i in range(5)]
    batch = [f.id for f in client.files.list(purpose="batch") if f.id in ids]
    assert batch == list(reversed(ids))
    asc = [f.id for f in client.files.list(purpose="batch", order="asc", limit=2) if f.id in ids]
    assert asc == ids
    page = client.files.list(purpose="batch", order="asc", limit=2, after=ids[1])
    assert [f.id for f in page.data][:2] == ids[2:4]
    assert all(f.purpose == "batch" for f in client.files.list(purpose="batch"))
    with pytest.raises(openai.BadRequestError) as info:
        client.files.list(limit=10_001)
    assert error_body(info.value)["param"] == "limit"


def test_expires_after_sets_expires_at(client: openai.OpenAI) -> None:
    created = client.files.create(
        file=("temp.txt", b"x"),
        purpose="assistants",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert created.expires_at == created.created_at + 3600
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(
            file=("temp.txt", b"x"),
            purpose="assistants",
            expires_after={"anchor": "created_at", "seconds": 60},
        )
    assert error_body(info.value)["param"] == "expires_after.seconds"


def _multipart(server: Server, files: dict[str, object], data: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.base_url}/v1/files", files=files, data=data, timeout=30)


@pytest.mark.parametrize(
    ("files", "data", "param"),
    [
        # a field named "file" without a filename is not a file
        ({"file": (None, b"just text")}, {"purpose": "assistants"}, "file"),
        ({"file": ("a.txt", b"x")}, {}, "purpose"),
        ({"file": ("a.txt", b"x")}, {"purpose": "homework"}, "purpose"),
        ({"file": ("", b"x")}, {"purpose": "assistants"}, "file"),
        ({"file": ("   ", b"x")}, {"purpose": "assistants"}, "file"),
    ],
    ids=["missing file", "missing purpose", "unknown purpose", "no filename", "blank filename"],
)
def test_bad_uploads_are_400_naming_the_field(
    server: Server, files: dict[str, object], data: dict[str, str], param: str
) -> None:
    before = len(list((server.data_dir / "blobs" / "tmp").iterdir()))
    response = _multipart(server, files, data)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert len(list((server.data_dir / "blobs" / "tmp").iterdir())) == before


def test_json_body_is_refused_with_a_clear_400(server: Server) -> None:
    response = httpx.post(f"{server.base_url}/v1/files", json={"purpose": "assistants"})
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["error"]["message"]


def test_sdk_maps_a_missing_file_to_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("x.txt", io.BytesIO(b"x")), purpose="nonsense")  # type: ignore[arg-type]


async def test_async_upload_and_download(async_client: openai.AsyncOpenAI) -> None:
    created = await async_client.files.create(file=("a.bin", BINARY), purpose="assistants")
    content = await async_client.files.content(created.id)
    assert content.read() == BINARY
    await async_client.files.delete(created.id)


def test_form_fields_are_bounded(server: Server) -> None:
    many = {f"field{i}": "x" * 60_000 for i in range(20)}  # each under 64 KiB, 1.2 MB in all
    response = _multipart(server, {"file": ("a.txt", b"x")}, {"purpose": "assistants", **many})
    assert response.status_code == 400
    assert "too long" in response.json()["error"]["message"]
    one = _multipart(
        server, {"file": ("a.txt", b"x")}, {"purpose": "assistants", "big": "x" * 70_000}
    )
    assert one.status_code == 400
