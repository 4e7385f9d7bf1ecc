"""Chunking by tokens: windows of `size` tokens, each starting `size - overlap` after the last.

Tokens are the embedder's word pieces, so a chunk's length is what the embedding
model reads (OpenAI counted with its own tokenizer; the defaults are the same numbers).
A chunk's text is the exact slice of the document from its first token to its last,
so whitespace and punctuation survive and a citation quotes the source verbatim.

The text is tokenised a slice at a time (cut at whitespace, where a word piece never
spans), and the per-file token limit is enforced as the count grows: a file of millions
of one-byte tokens fails after reading its first `max_tokens`, not after the whole file
became millions of Python tuples (a 12 MB file once took 14 GB that way). Offsets are
kept in numpy arrays, 8 bytes a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from assistantd.retrieval.embeddings import load_word_pieces
from assistantd.retrieval.parsing import ParseError

__all__ = [
    "AUTO",
    "MAX_FILE_TOKENS",
    "Chunk",
    "chunk_pages",
    "strategy_of",
    "token_offsets",
    "too_many_tokens",
]

AUTO = (800, 400)
MAX_FILE_TOKENS = 5_000_000  # OpenAI's limit per file
_SLICE_CHARS = 256 * 1024  # text in one slice
_BATCH = 4  # slices tokenised in one call

Offsets = npt.NDArray[np.int64]


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


def too_many_tokens(max_tokens: int) -> ParseError:
    return ParseError(
        "invalid_file", f"The file has more than {max_tokens:,} tokens, the most one file may have."
    )


def _cut(text: str, start: int) -> int:
    """Where the slice from `start` ends: at the last whitespace within reach, so no word
    piece is split (a slice with none, a pathological file, is cut where it is)."""
    end = start + _SLICE_CHARS
    if end >= len(text):
        return len(text)
    space = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
    return space + 1 if space > start else end


def token_offsets(text: str, max_tokens: int = MAX_FILE_TOKENS) -> tuple[Offsets, Offsets]:
    """(starts, ends): character offsets of each word piece of `text`, in order.

    Raises `ParseError` as soon as the count passes `max_tokens`."""
    tokenizer = load_word_pieces().tokenizer
    starts: list[Offsets] = []
    ends: list[Offsets] = []
    count = 0
    position = 0
    while position < len(text):
        # A few slices a call: the tokenizer encodes a batch on every core it may use.
        bounds: list[tuple[int, int]] = []
        while position < len(text) and len(bounds) < _BATCH:
            stop = _cut(text, position)
            bounds.append((position, stop))
            position = stop
        encodings = tokenizer.encode_batch([text[a:b] for a, b in bounds], add_special_tokens=False)
        for (first, _), encoding in zip(bounds, encodings, strict=True):
            offsets = encoding.offsets
            flat = np.fromiter(chain.from_iterable(offsets), np.int64, count=2 * len(offsets))
            count += len(offsets)
            if count > max_tokens:
                raise too_many_tokens(max_tokens)
            starts.append(flat[0::2] + first)
            ends.append(flat[1::2] + first)
    if not starts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(starts), np.concatenate(ends)


def chunk_pages(
    pages: list[str], size: int, overlap: int, max_tokens: int = MAX_FILE_TOKENS
) -> list[Chunk]:
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    starts, ends = token_offsets(text, max_tokens)
    total = len(starts)
    if not total:
        return []
    stride = max(1, size - overlap)
    chunks: list[Chunk] = []
    start = 0
    while True:
        end = min(start + size, total)
        chunks.append(Chunk(text[int(starts[start]) : int(ends[end - 1])], end - start))
        if end == total:
            return chunks
        start += stride
