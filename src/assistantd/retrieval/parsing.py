"""Files → text, for every extension OpenAI's file_search accepted.

The extension decides the parser, as it did at OpenAI (its error names extensions):
text and code are decoded (utf-8, utf-16 with a BOM, or ascii, as OpenAI required);
PDF through pypdf, DOCX through python-docx, PPTX through python-pptx (all BSD/MIT);
HTML through the standard library's parser; legacy Word `.doc` by reading the text
pieces of its OLE container (olefile, BSD). A file that cannot be read raises
`ParseError` with the code `last_error` carries (`unsupported_file` or `invalid_file`).

Sizes are checked before work is spent (`ParseLimits`): the declared sizes of an OOXML
file's zip members (zipfile never inflates a member past its declared size, so a zip
bomb is refused from its directory alone), a PDF's page count and the decoded bytes of
its pages' content streams, counted per page (a stream many pages share is paid for by
each). Everything else is bounded by the process this runs in (engine/parse_pool.py).
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "ParseError",
    "ParseLimits",
    "extension_of",
    "is_text",
    "parse",
]

_MB = 1024 * 1024

_TEXT = {
    ".c", ".cpp", ".cs", ".css", ".go", ".java", ".js", ".json", ".md", ".php",
    ".py", ".rb", ".sh", ".tex", ".ts", ".txt",
}  # fmt: skip
SUPPORTED_EXTENSIONS = frozenset({*_TEXT, ".html", ".pdf", ".docx", ".pptx", ".doc"})


@dataclass(frozen=True)
class ParseLimits:
    expanded_bytes: int = 256 * _MB  # an OOXML file's members, as its zip declares them
    pdf_pages: int = 5_000
    pdf_content_bytes: int = 64 * _MB  # decoded content streams, summed over the pages


class ParseError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def extension_of(filename: str) -> str:
    return PurePosixPath(filename.lower()).suffix


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise ParseError("invalid_file", "The file is not valid UTF-16 text.") from error
    if b"\x00" in data:
        raise ParseError(
            "invalid_file", "The file looks binary: text files must be UTF-8, UTF-16 or ASCII."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ParseError(
            "invalid_file", "The file is not valid UTF-8, UTF-16 or ASCII text."
        ) from error


def is_text(filename: str) -> bool:
    """Text and code: decoded, not parsed (and so readable a block at a time)."""
    return extension_of(filename) in _TEXT


class _HtmlText(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _html(data: bytes, _limits: ParseLimits) -> list[str]:
    parser = _HtmlText()
    parser.feed(_decode(data))
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return ["\n".join(line for line in lines if line)]


def _pdf(data: bytes, limits: ParseLimits) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise ParseError("invalid_file", "The PDF is encrypted.")
    count = len(reader.pages)
    if count > limits.pdf_pages:
        raise ParseError(
            "invalid_file", f"The PDF has {count:,} pages, over the limit of {limits.pdf_pages:,}."
        )
    content = 0
    for page in reader.pages:  # all of them first: the text is where the cost is
        content += _content_bytes(page)
        if content > limits.pdf_content_bytes:
            raise ParseError(
                "invalid_file",
                "The PDF's page content streams add up to more than "
                f"{limits.pdf_content_bytes // _MB} MB, the most one file may have.",
            )
    return [page.extract_text() or "" for page in reader.pages]


def _content_bytes(page: Any) -> int:
    """The decoded size of a page's content streams, without parsing their operators
    (pypdf's `get_contents` parses them: the very cost this check is there to avoid)."""
    contents = page.get("/Contents")
    if contents is None:
        return 0
    contents = contents.get_object()
    streams = contents if isinstance(contents, list) else [contents]
    return sum(len(s.get_object().get_data()) for s in streams)


def _check_zip(data: bytes, limits: ParseLimits) -> None:
    """An OOXML file is a zip: refuse one whose members expand past the limit."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as error:
        raise ParseError("invalid_file", "The file is not a valid Office (zip) file.") from error
    expanded = sum(m.file_size for m in members)
    if expanded > limits.expanded_bytes:
        raise ParseError(
            "invalid_file",
            f"The file expands to {expanded // _MB:,} MB when unzipped, over the limit of "
            f"{limits.expanded_bytes // _MB} MB.",
        )


def _docx(data: bytes, limits: ParseLimits) -> list[str]:
    import docx

    _check_zip(data, limits)
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return ["\n".join(parts)]


def _pptx(data: bytes, limits: ParseLimits) -> list[str]:
    from pptx import Presentation

    _check_zip(data, limits)
    slides = []
    for slide in Presentation(io.BytesIO(data)).slides:
        texts = [
            shape.text_frame.text
            for shape in slide.shapes
            if shape.has_text_frame and shape.text_frame.text
        ]
        slides.append("\n".join(texts))
    return slides


def _doc(data: bytes, _limits: ParseLimits) -> list[str]:
    """Word 97–2003: the text lives in pieces the table stream's piece table lists."""
    import olefile

    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        word = ole.openstream("WordDocument").read()
        flags = struct.unpack_from("<H", word, 0x0A)[0]
        table_name = "1Table" if flags & 0x0200 else "0Table"
        table = ole.openstream(table_name).read()
    finally:
        ole.close()
    fc_clx, lcb_clx = struct.unpack_from("<II", word, 0x01A2)
    clx = table[fc_clx : fc_clx + lcb_clx]
    pos = 0
    while pos < len(clx) and clx[pos] == 0x01:  # skip property modifiers (Prc)
        pos += 3 + struct.unpack_from("<H", clx, pos + 1)[0]
    if pos >= len(clx) or clx[pos] != 0x02:
        raise ParseError("invalid_file", "The .doc file has no piece table.")
    size = struct.unpack_from("<I", clx, pos + 1)[0]
    plc = clx[pos + 5 : pos + 5 + size]
    count = (len(plc) - 4) // 12
    cps = struct.unpack_from(f"<{count + 1}I", plc, 0)
    text = []
    for i in range(count):
        fc = struct.unpack_from("<I", plc, 4 * (count + 1) + 8 * i + 2)[0]
        length = cps[i + 1] - cps[i]
        if fc & 0x40000000:
            start = (fc & ~0x40000000) // 2
            text.append(word[start : start + length].decode("cp1252", errors="replace"))
        else:
            text.append(word[fc : fc + 2 * length].decode("utf-16-le", errors="replace"))
    # Word marks paragraphs with \r and cells with \x07.
    return ["".join(text).replace("\r", "\n").replace("\x07", "\t")]


_PARSERS: dict[str, Callable[[bytes, ParseLimits], list[str]]] = {
    ".html": _html,
    ".pdf": _pdf,
    ".docx": _docx,
    ".pptx": _pptx,
    ".doc": _doc,
}


def parse(filename: str, data: bytes, limits: ParseLimits | None = None) -> list[str]:
    """The file's text, one item per page (PDF) or slide (PPTX), else one item."""
    limits = limits or ParseLimits()
    ext = extension_of(filename)
    if ext not in SUPPORTED_EXTENSIONS:
        raise ParseError("unsupported_file", "The file type is not supported.")
    if ext in _TEXT:
        pages = [_decode(data)]
    else:
        try:
            pages = _PARSERS[ext](data, limits)
        except (ParseError, MemoryError):
            raise  # MemoryError: the process's limit, which its supervisor reports
        except RecursionError as error:
            raise ParseError(
                "invalid_file", f"The file is nested too deeply to parse as {ext}."
            ) from error
        except Exception as error:  # every library raises its own kinds
            raise ParseError(
                "invalid_file", f"The file could not be parsed as {ext}: {type(error).__name__}."
            ) from error
    pages = [p.replace("\x00", "") for p in pages]
    if not any(p.strip() for p in pages):
        raise ParseError("invalid_file", "The file contains no text.")
    return pages
