"""Model markers become OpenAI's file_citation annotations, streamed whole and once.

The citation stream is file_search's AnswerEditor; `place` is how the engine lays its
pieces into the message (tools/base.py), so these run both as a run does."""

from __future__ import annotations

from typing import Any

from assistantd.engine.answer import place
from assistantd.tools.base import Piece
from assistantd.tools.file_search.citations import CitationStream, Source

SOURCES = {
    "0:0": Source("0:0", "file-a", "favorite_foods.txt"),
    "0:1": Source("0:1", "file-b", "b.md"),
}


def _run(
    chunks: list[str], *, cites_sources: bool = True
) -> tuple[str, list[dict[str, Any]], list[tuple[str, list[Any]]]]:
    stream = CitationStream(dict(SOURCES))
    pieces: list[Piece] = []
    for chunk in chunks:
        pieces += stream.feed(chunk)
    pieces += stream.finish(cites_sources)
    return place("", [], pieces)


def test_marker_split_across_deltas_is_one_delta_with_its_annotation() -> None:
    text, annotations, deltas = _run(["Filip likes cake", "【0:", "0†whatever", "】."])
    assert text == "Filip likes cake【0:0†favorite_foods.txt】."
    (ann,) = annotations
    assert text[ann["start_index"] : ann["end_index"]] == ann["text"]
    assert (ann["start_index"], ann["end_index"]) == (16, 40)
    assert ann["file_citation"] == {"file_id": "file-a"}
    marked = [d for d in deltas if d[1]]
    assert len(marked) == 1
    value, (delta,) = marked[0]
    assert value == "【0:0†favorite_foods.txt】"
    assert delta["index"] == 0
    assert (delta["start_index"], delta["end_index"]) == (16, 40)
    assert delta["file_citation"] == {"file_id": "file-a", "quote": ""}
    assert "".join(v for v, _ in deltas) == text


def test_indices_count_code_points_not_utf16_units() -> None:
    text, (ann,), _ = _run(["😀 emoji first 【0:1†x】"])
    assert text[ann["start_index"] : ann["end_index"]] == "【0:1†b.md】"
    assert ann["start_index"] == len("😀 emoji first ")


def test_unknown_result_markers_are_dropped_and_bare_indices_resolve() -> None:
    text, annotations, _ = _run(["a【9:9†nope】 b【1】 c【not a marker】"])
    assert text == "a b【0:1†b.md】 c【not a marker】"
    assert [a["file_citation"]["file_id"] for a in annotations] == ["file-b"]


def test_unclosed_bracket_is_released_as_text() -> None:
    text, annotations, _ = _run(["x 【" + "y" * 200])
    assert text == "x 【" + "y" * 200
    assert annotations == []


def test_a_model_that_cannot_cite_gets_the_best_result_once_at_the_end() -> None:
    text, annotations, _ = _run(["An answer."], cites_sources=False)
    assert text == "An answer.【0:0†favorite_foods.txt】"
    (ann,) = annotations
    assert ann["start_index"] == len("An answer.")
    # A model that cited something itself gets nothing added.
    text, annotations, _ = _run(["Yes 【0:1】."], cites_sources=False)
    assert text == "Yes 【0:1†b.md】."
    assert len(annotations) == 1
    # Nor does one that can cite and chose not to.
    assert _run(["An answer."])[1] == []


def test_a_later_page_of_text_continues_the_spans_and_the_numbering() -> None:
    stream = CitationStream(dict(SOURCES))
    text, annotations, _ = place("", [], stream.feed("one 【0:0】 "))
    text, annotations, deltas = place(text, annotations, stream.feed("two 【0:1】"))
    assert [a["start_index"] for a in annotations] == [
        4,
        len("one 【0:0†favorite_foods.txt】 two "),
    ]
    assert deltas[-1][1][0]["index"] == 1
