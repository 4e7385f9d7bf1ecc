"""Small real documents of every kind file_search parses, made in the tests."""

from __future__ import annotations

import io


def pdf(pages: list[list[str]]) -> bytes:
    """A PDF with one text page per item, each line drawn with a standard font."""
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for i, lines in enumerate(pages):
        body = (
            "BT /F1 11 Tf 72 740 Td "
            + " ".join(
                "("
                + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                + ") Tj 0 -14 Td"
                for line in lines
            )
            + " ET"
        )
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {page_ids[i] + 1} 0 R"
            f" /Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(f"<< /Length {len(body)} >>\nstream\n{body}\nendstream".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return pdf_file(objects)


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of these objects (numbered from 1, the first the catalog), with its xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{n} 0 obj\n".encode() + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def docx(paragraphs: list[str]) -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx(slides: list[str]) -> bytes:
    from pptx import Presentation

    deck = Presentation()
    for text in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = text
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def doc(text: str) -> bytes:
    """A minimal Word 97 `.doc`: an OLE compound file holding a WordDocument stream (its
    FIB points at the piece table) and a 1Table stream (one piece, 8-bit text)."""
    import struct

    sector = 512
    body = text.replace("\n", "\r").encode("cp1252")
    word = bytearray(4608)  # ≥ 4096: a regular stream, no mini stream needed
    struct.pack_into("<H", word, 0, 0xA5EC)  # wIdent
    struct.pack_into("<H", word, 0x0A, 0x0200)  # fWhichTblStm: the table is 1Table
    text_at = 2048
    word[text_at : text_at + len(body)] = body
    pcd = struct.pack("<HIH", 0, (text_at * 2) | 0x40000000, 0)  # compressed (cp1252)
    plc = struct.pack("<II", 0, len(body)) + pcd
    clx = b"\x02" + struct.pack("<I", len(plc)) + plc
    table = bytearray(4608)
    table[: len(clx)] = clx
    struct.pack_into("<II", word, 0x01A2, 0, len(clx))  # fcClx, lcbClx
    streams = [bytes(word), bytes(table)]
    free, end, fat_sect = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
    fat = [fat_sect, end]  # sector 0: the FAT, sector 1: the directory
    starts = []
    for data in streams:
        starts.append(len(fat))
        count = len(data) // sector
        fat += [len(fat) + i + 1 for i in range(count - 1)] + [end]
    fat += [free] * (sector // 4 - len(fat))

    def entry(name: str, kind: int, start: int, size: int, child: int, right: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        raw = encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
        raw += struct.pack("<III", free, right, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
        return raw + struct.pack("<IQ", start, size)[:8] + b"\0" * 4

    directory = (
        entry("Root Entry", 5, end, 0, 1, free)
        + entry("WordDocument", 2, starts[0], len(streams[0]), free, 2)
        + entry("1Table", 2, starts[1], len(streams[1]), free, free)
    ).ljust(sector, b"\0")
    header = bytearray(512)
    header[:8] = bytes.fromhex("d0cf11e0a1b11ae1")
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 0x2C, 1, 1, 0, 4096, end, 0, end, 0)
    header[0x4C:0x200] = struct.pack("<I", 0) + b"\xff" * (0x200 - 0x50)
    return bytes(header) + struct.pack(f"<{len(fat)}I", *fat) + directory + b"".join(streams)
