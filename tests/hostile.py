"""Hostile files for file_search, generated where a test needs them (never committed).

Each is small or quick to make and built to cost a naive parser dearly: zip bombs,
entity and nesting bombs, PDFs that loop, lie or share one costly content stream,
text of one token per byte, binary data named `.txt`. `write_all(dir)` writes them
as files (the large ones streamed to disk, never held in memory).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from tests import documents

__all__ = ["HOSTILE", "write_all"]

_MB = 1024 * 1024


def _docx_with(document_xml: Callable[[zipfile.ZipFile], None]) -> bytes:
    """A real .docx whose word/document.xml is replaced."""
    source = zipfile.ZipFile(io.BytesIO(documents.docx(["placeholder"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename == "word/document.xml":
                document_xml(target)
            else:
                target.writestr(item, source.read(item.filename))
    return out.getvalue()


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_zip_bomb() -> bytes:
    """word/document.xml inflates to 1 GB of spaces (about 1 MB zipped)."""

    def bomb(target: zipfile.ZipFile) -> None:
        with target.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(f"<w:document {_W}><w:body><w:p><w:r><w:t>".encode())
            block = b" " * _MB
            for _ in range(1024):
                member.write(block)
            member.write(b"</w:t></w:r></w:p></w:body></w:document>")

    return _docx_with(bomb)


def docx_billion_laughs() -> bytes:
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE w:document [{entities}]>'
        f"<w:document {_W}><w:body><w:p><w:r><w:t>&l9;</w:t></w:r></w:p></w:body></w:document>"
    )
    return _docx_with(lambda target: target.writestr("word/document.xml", xml))


def docx_deep_xml() -> bytes:
    depth = 200_000
    xml = (
        f"<w:document {_W}><w:body>"
        + "<w:sdt><w:sdtContent>" * depth
        + "<w:p><w:r><w:t>deep</w:t></w:r></w:p>"
        + "</w:sdtContent></w:sdt>" * depth
        + "</w:body></w:document>"
    )
    return _docx_with(lambda target: target.writestr("word/document.xml", xml))


def html_deep() -> bytes:
    depth = 300_000
    return ("<div>" * depth + "deep text" + "</div>" * depth).encode()


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_shared_stream(pages: int = 100, stream_mb: int = 4) -> bytes:
    """`pages` pages that all draw one content stream of `stream_mb` MB of text operators
    (Flate-compressed to a few KB): a parser pays for the stream once a page."""
    import zlib

    ops = b"BT /F1 11 Tf 72 740 Td (x) Tj ET\n"
    content = zlib.compress(ops * (stream_mb * _MB // len(ops)), 9)
    page_ids = list(range(3, 3 + pages))
    stream_id, font_id = 3 + pages, 4 + pages
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    objects += [
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {stream_id} 0 R"
        f" /Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        for _ in page_ids
    ]
    objects.append(
        f"<< /Length {len(content)} /Filter /FlateDecode >>\nstream\n".encode()
        + content
        + b"\nendstream"
    )
    objects.append(_FONT)
    return documents.pdf_file(objects)


def pdf_cyclic() -> bytes:
    """A page tree whose Pages node lists itself among its kids."""
    return documents.pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )


def pdf_deep() -> bytes:
    """An object nested 100,000 arrays deep."""
    depth = 100_000
    return documents.pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Deep 4 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"[" * depth + b"]" * depth,
        ]
    )


def pdf_lying() -> bytes:
    """It claims a million pages and a bigger cross-reference table than it has."""
    body = documents.pdf([["One real page."]])
    return body.replace(b"/Count 1", b"/Count 1000000").replace(b"/Size ", b"/Size 99")


def binary_txt() -> bytes:
    return os.urandom(256 * 1024)


def _tokens(size_mb: int) -> Iterator[bytes]:
    """One word piece per byte: punctuation, which the tokenizer splits one by one."""
    block = b"." * _MB
    for _ in range(size_mb):
        yield block


# name -> (what makes it, whether it may complete: only if it is merely large)
HOSTILE: dict[str, Callable[[], bytes | Iterator[bytes]]] = {
    "bomb.docx": docx_zip_bomb,
    "laughs.docx": docx_billion_laughs,
    "deep.docx": docx_deep_xml,
    "deep.html": html_deep,
    "shared.pdf": pdf_shared_stream,
    "cyclic.pdf": pdf_cyclic,
    "deep.pdf": pdf_deep,
    "lying.pdf": pdf_lying,
    "binary.txt": binary_txt,
    "tokens-4mb.txt": lambda: _tokens(4),
    "tokens-12mb.txt": lambda: _tokens(12),
    "tokens-500mb.txt": lambda: _tokens(500),
}


def write_all(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, make in HOSTILE.items():
        path = paths[name] = directory / name
        made = make()
        with open(path, "wb") as out:
            if isinstance(made, bytes):
                out.write(made)
            else:
                for block in made:
                    out.write(block)
    return paths


if __name__ == "__main__":  # python -m tests.hostile DIR: the files, to look at
    import sys

    for name, path in write_all(Path(sys.argv[1])).items():
        sys.stdout.write(f"{path.stat().st_size:>12,}  {name}\n")
