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
from dataclasses import dataclass, field
from typing import Any

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
    """Feeds model text through; yields (text, annotation or None) pieces to publish."""

    sources: dict[str, Source]
    latest: int = 0  # the search a bare `【i】` refers to
    text: str = ""  # everything emitted so far (the message's value)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    _held: str = ""

    def _resolve(self, found: re.Match[str]) -> Source | None:
        first, second = found.group(1), found.group(2)
        key = f"{first}:{second}" if second is not None else f"{self.latest}:{first}"
        return self.sources.get(key)

    def _emit_marker(self, source: Source) -> tuple[str, dict[str, Any]]:
        value = marker(source.key, source.filename)
        start = len(self.text)
        self.text += value
        annotation = {
            "type": "file_citation",
            "text": value,
            "start_index": start,
            "end_index": start + len(value),
            "file_citation": {"file_id": source.file_id},
        }
        self.annotations.append(annotation)
        delta = {
            "index": len(self.annotations) - 1,
            **annotation,
            "file_citation": {"file_id": source.file_id, "quote": ""},
        }
        return value, delta

    def _plain(self, text: str) -> list[tuple[str, dict[str, Any] | None]]:
        if not text:
            return []
        self.text += text
        return [(text, None)]

    def feed(self, text: str) -> list[tuple[str, dict[str, Any] | None]]:
        pending = self._held + text
        self._held = ""
        out: list[tuple[str, dict[str, Any] | None]] = []
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
                value, delta = self._emit_marker(source)
                out.append((value, delta))
            # else: a marker of nothing we returned is dropped
        return out

    def flush(self) -> list[tuple[str, dict[str, Any] | None]]:
        held, self._held = self._held, ""
        return self._plain(held)

    def cite_top(self) -> list[tuple[str, dict[str, Any] | None]]:
        """For a model too small to cite: the best result of the latest search, at the end."""
        if self.annotations:
            return []
        source = self.sources.get(f"{self.latest}:0")
        if source is None:
            return []
        value, delta = self._emit_marker(source)
        return [(value, delta)]
