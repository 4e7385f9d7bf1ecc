"""Every supported format parses to its text; what cannot be read fails with OpenAI's codes."""

from __future__ import annotations

import pytest

from assistantd.retrieval.chunking import chunk_pages, strategy_of, token_offsets
from assistantd.retrieval.parsing import (
    SUPPORTED_EXTENSIONS,
    ParseError,
    ParseLimits,
    parse,
)
from tests import documents


def test_pdf_pages_parse() -> None:
    data = documents.pdf([["Aurora borealis glows green."], ["Second page about otters."]])
    pages = parse("report.pdf", data)
    assert len(pages) == 2
    assert "Aurora borealis" in pages[0]
    assert "otters" in pages[1]


def test_docx_and_pptx_parse() -> None:
    assert (
        "quarterly revenue" in parse("a.docx", documents.docx(["The quarterly revenue rose."]))[0]
    )
    slides = parse("deck.pptx", documents.pptx(["Roadmap for Mars", "Budget review"]))
    assert slides == ["Roadmap for Mars", "Budget review"]


def test_html_drops_scripts_and_keeps_text() -> None:
    html = b"<html><head><script>var secret=1;</script><style>p{}</style></head>"
    html += b"<body><h1>Title</h1><p>Hello &amp; welcome</p></body></html>"
    (text,) = parse("page.html", html)
    assert "Hello & welcome" in text
    assert "secret" not in text
    assert "p{}" not in text


@pytest.mark.parametrize("ext", sorted({".c", ".cpp", ".py", ".md", ".json", ".ts", ".go", ".tex"}))
def test_text_and_code_decode(ext: str) -> None:
    assert parse(f"x{ext}", "naïve code ✓".encode()) == ["naïve code ✓"]


def test_utf16_with_bom_decodes() -> None:
    assert parse("x.txt", "hello".encode("utf-16")) == ["hello"]


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("data.csv", b"a,b\n1,2\n", "unsupported_file"),
        ("noext", b"hello", "unsupported_file"),
        ("binary.txt", b"\x00\x01\x02\xff", "invalid_file"),
        ("latin1.txt", "café".encode("latin-1"), "invalid_file"),
        ("broken.pdf", b"%PDF-1.4 this is not a pdf", "invalid_file"),
        ("broken.docx", b"PK\x03\x04 not a zip", "invalid_file"),
        ("empty.txt", b"   \n", "invalid_file"),
        ("broken.doc", b"not an OLE file", "invalid_file"),
    ],
)
def test_unreadable_files_fail_with_a_code(name: str, data: bytes, code: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(name, data)
    assert caught.value.code == code
    assert caught.value.message


def test_every_openai_extension_is_supported() -> None:
    openai = ".c .cpp .cs .css .doc .docx .go .html .java .js .json .md .pdf .php .pptx .py .rb"
    assert set((openai + " .sh .tex .ts .txt").split()) == SUPPORTED_EXTENSIONS


def test_chunks_are_token_windows_with_overlap_and_exact_slices() -> None:
    text = " ".join(f"w{i}" for i in range(3000))
    chunks = chunk_pages([text], 200, 50)
    assert all(c.tokens <= 200 for c in chunks)
    assert all(c.text in text for c in chunks)
    # consecutive chunks share `overlap` tokens
    first, second = chunks[0], chunks[1]
    starts, _ = token_offsets(first.text)
    shared = first.text[int(starts[-50]) :]
    assert second.text.startswith(shared)
    assert chunks[-1].text.endswith("w2999")


def test_auto_is_reported_as_static_800_400() -> None:
    auto = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}
    assert strategy_of(None) == auto
    assert strategy_of({"type": "auto"}) == auto
    static = {
        "type": "static",
        "static": {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 20},
    }
    assert strategy_of(static) == static


def test_legacy_word_doc_parses() -> None:
    data = documents.doc("Minutes of the meeting.\nThe budget was approved.")
    assert parse("minutes.doc", data) == ["Minutes of the meeting.\nThe budget was approved."]


@pytest.mark.parametrize(
    ("name", "data", "limits", "says"),
    [
        (
            "deck.pdf",
            documents.pdf([["one"], ["two"], ["three"]]),
            ParseLimits(pdf_pages=2),
            "3 pages, over the limit of 2",
        ),
        (
            "deck.pdf",
            documents.pdf([["x" * 100]] * 3),
            ParseLimits(pdf_content_bytes=200),
            "content streams add up to more than 0 MB",
        ),
        (
            "a.docx",
            documents.docx(["fine"] * 50),
            ParseLimits(expanded_bytes=1024),
            "when unzipped, over the limit of 0 MB",
        ),
    ],
)
def test_size_limits_fail_before_the_parse(
    name: str, data: bytes, limits: ParseLimits, says: str
) -> None:
    with pytest.raises(ParseError) as failed:
        parse(name, data, limits)
    assert failed.value.code == "invalid_file"
    assert says in failed.value.message
    assert parse(name, data)  # within the default limits it parses


def test_the_token_limit_fails_as_it_is_reached() -> None:
    with pytest.raises(ParseError) as failed:
        chunk_pages(["word " * 1000], 800, 400, max_tokens=999)
    assert "more than 999 tokens" in failed.value.message
    assert chunk_pages(["word " * 1000], 800, 400, max_tokens=1000)
