"""Citations: the model's `【k:i†name】` markers → OpenAI's `file_citation` annotations.

The search output the model reads labels each result with its marker (`【k:i†file】`:
k counts this run's searches, i the result). Whatever the model writes back that parses
as a marker of a real result is rewritten to the exact marker of that result (the
filename fixed, so `value[start:end] == text`) and annotated with its File; a marker
that names no result is dropped, so a citation never points at a file the search did
not return. Indices are code points, as OpenAI's were (docs/vector-stores.md, "Citations").

Streaming: text after a `【` is held back until its `】` (or until it clearly is not a
marker), then a whole marker goes out as one delta together with its annotation, each
annotation exactly once, because the SDKs concatenate anything they see twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistantd.tools.base import Piece

__all__ = ["CitationStream", "Source", "marker"]

_MARKER = re.compile(r"【(\d+)(?::(\d+))?(?:†[^】]*)?】")
_HOLD_MAX = 120  # a "【" with no "】" this far on is just text


@dataclass(frozen=True)
class Source:
    key: str  # "k:i"
    file_id: str
    filename: str


def marker(key: str, filename: str) -> str:
    return f"【{key}†{filename}】"


@dataclass
class CitationStream:
    """An AnswerEditor: model text in, pieces out, each citation a piece of its own
    (the engine gives it its span and index)."""

    sources: dict[str, Source]
    latest: int = 0  # the search a bare `【i】` refers to
    cited: bool = False
    _held: str = ""

    def _resolve(self, found: re.Match[str]) -> Source | None:
        first, second = found.group(1), found.group(2)
        key = f"{first}:{second}" if second is not None else f"{self.latest}:{first}"
        return self.sources.get(key)

    def _cite(self, source: Source) -> Piece:
        value = marker(source.key, source.filename)
        self.cited = True
        return Piece(
            value,
            annotation={
                "type": "file_citation",
                "text": value,
                "start_index": 0,  # placed by the engine
                "end_index": 0,
                "file_citation": {"file_id": source.file_id},
            },
            shown={
                "type": "file_citation",
                "text": value,
                "file_citation": {"file_id": source.file_id, "quote": ""},
            },
        )

    @staticmethod
    def _plain(text: str) -> list[Piece]:
        return [Piece(text)] if text else []

    def feed(self, text: str) -> list[Piece]:
        pending = self._held + text
        self._held = ""
        out: list[Piece] = []
        while pending:
            start = pending.find("【")
            if start < 0:
                out += self._plain(pending)
                break
            out += self._plain(pending[:start])
            pending = pending[start:]
            end = pending.find("】")
            if end < 0:
                if len(pending) > _HOLD_MAX:
                    out += self._plain(pending[:1])
                    pending = pending[1:]
                    continue
                self._held = pending
                break
            candidate = pending[: end + 1]
            pending = pending[end + 1 :]
            found = _MARKER.fullmatch(candidate)
            if found is None:
                out += self._plain(candidate)
                continue
            source = self._resolve(found)
            if source is not None:
                out.append(self._cite(source))
            # else: a marker of nothing we returned is dropped
        return out

    def flush(self) -> list[Piece]:
        held, self._held = self._held, ""
        return self._plain(held)

    def finish(self, cites_sources: bool) -> list[Piece]:
        """For a model too small to cite: the best result of the latest search, at the end."""
        out = self.flush()
        if cites_sources or self.cited:
            return out
        source = self.sources.get(f"{self.latest}:0")
        return out if source is None else [*out, self._cite(source)]
