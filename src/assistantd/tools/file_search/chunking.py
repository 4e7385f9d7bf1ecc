"""Chunking by tokens: windows of `size` tokens, each starting `size - overlap` after the last.

Tokens are the embedder's word pieces, so a chunk's length is what the embedding
model reads (OpenAI counted with its own tokenizer; the defaults are the same numbers).
A chunk's text is the exact slice of the document from its first token to its last,
so whitespace and punctuation survive and a citation quotes the source verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.tools.file_search.embeddings import load_word_pieces
from assistantd.tools.file_search.parsing import ParseError

__all__ = ["AUTO", "Chunk", "chunk_pages", "strategy_of"]

AUTO = (800, 400)
MAX_FILE_TOKENS = 5_000_000  # OpenAI's limit per file


@dataclass(frozen=True)
class Chunk:
    text: str
    tokens: int


def strategy_of(requested: dict[str, object] | None) -> dict[str, object]:
    """What a file reports back: `auto` (or nothing) is reported as static 800/400."""
    if requested and requested.get("type") == "static":
        return {"type": "static", "static": dict(requested["static"])}  # type: ignore[call-overload]
    size, overlap = AUTO
    return {
        "type": "static",
        "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap},
    }


def chunk_pages(pages: list[str], size: int, overlap: int) -> list[Chunk]:
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    spans = load_word_pieces().spans(text)
    if len(spans) > MAX_FILE_TOKENS:
        raise ParseError("invalid_file", "The file could not be parsed because it is too large.")
    if not spans:
        return []
    stride = max(1, size - overlap)
    chunks: list[Chunk] = []
    start = 0
    while True:
        end = min(start + size, len(spans))
        chunks.append(Chunk(text[spans[start][0] : spans[end - 1][1]], end - start))
        if end == len(spans):
            return chunks
        start += stride
