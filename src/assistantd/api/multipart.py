"""Streaming multipart/form-data: file bytes go to a temporary blob as they arrive.

Nothing buffers a whole file: each chunk the client sends is parsed and written
straight to disk, counted against the size limit as it goes, and an over-size,
malformed or abandoned upload discards what it had written before it answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from assistantd.api.deps import Call, receive_body
from assistantd.api.validation import check_no_nul
from assistantd.errors import InvalidRequest, PayloadTooLarge
from assistantd.store.blobs import BlobStore, TempBlob

__all__ = ["Form", "read_form"]

_MAX_FIELD_BYTES = 64 * 1024
# Everything but the file is held in memory: bound it as a whole, not just per field.
_MAX_FIELDS_BYTES = 1024 * 1024


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    file: TempBlob | None = None
    filename: str | None = None


class _Receiver:
    """python-multipart callbacks that route one file field to a blob, the rest to memory."""

    def __init__(self, file_field: str, blobs: BlobStore, max_file_bytes: int) -> None:
        self.file_field = file_field
        self.blobs = blobs
        self.max_file_bytes = max_file_bytes
        self.form = Form()
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._value = bytearray()
        self._to_file = False
        self._fields_bytes = 0

    def on_part_begin(self) -> None:
        self._headers = {}
        self._value = bytearray()
        self._to_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if self._name == self.file_field and filename is not None:
            if self.form.file is not None:
                raise InvalidRequest(f"Only one '{self.file_field}' may be sent.", param=self._name)
            self._to_file = True
            self.form.filename = filename.decode("utf-8", "replace")
            self.form.file = self.blobs.temp()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._to_file:
            blob = self.form.file
            assert blob is not None
            if blob.size + (end - start) > self.max_file_bytes:
                raise PayloadTooLarge(
                    f"File too large: the limit is {self.max_file_bytes} bytes.",
                    param=self.file_field,
                    code="file_too_large",
                )
            blob.write(data[start:end])
            return
        self._value += data[start:end]
        self._fields_bytes += end - start
        if len(self._value) > _MAX_FIELD_BYTES or self._fields_bytes > _MAX_FIELDS_BYTES:
            raise InvalidRequest(f"Form field '{self._name}' is too long.", param=self._name)

    def on_part_end(self) -> None:
        if not self._to_file:
            self.form.fields[self._name] = self._value.decode("utf-8", "replace")


def _boundary(call: Call) -> bytes:
    content_type = call.header(b"content-type") or b""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidRequest(
            f"Invalid Content-Type header ({content_type.decode('latin-1') or 'none'}), "
            "expected multipart/form-data.",
            code="invalid_content_type",
        )
    return boundary


async def read_form(call: Call, *, file_field: str, blobs: BlobStore, max_file_bytes: int) -> Form:
    """Parse the request body; the caller owns `form.file` (keep or discard it)."""
    boundary = _boundary(call)
    # A declared length far past the limit is refused before reading a byte.
    if call.content_length is not None and call.content_length > max_file_bytes + 1024 * 1024:
        raise PayloadTooLarge(
            f"File too large: the limit is {max_file_bytes} bytes.",
            param=file_field,
            code="file_too_large",
        )
    receiver = _Receiver(file_field, blobs, max_file_bytes)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": receiver.on_part_begin,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
        },
    )
    try:
        more = True
        while more:
            message = await receive_body(call)
            parser.write(message.get("body", b""))
            more = message.get("more_body", False)
        parser.finalize()
        for name, value in receiver.form.fields.items():
            check_no_nul(value, name)
        check_no_nul(receiver.form.filename or "", file_field)
    except BaseException as exc:
        if receiver.form.file is not None:
            receiver.form.file.discard()
        if isinstance(exc, ValueError) and not isinstance(exc, InvalidRequest):
            raise InvalidRequest(
                f"Malformed multipart body: {exc}", code="invalid_multipart"
            ) from None
        raise
    return receiver.form
