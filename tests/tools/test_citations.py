"""Model markers become OpenAI's file_citation annotations, streamed whole and once."""

from __future__ import annotations

from typing import Any

from assistantd.tools.file_search.citations import CitationStream, Source

SOURCES = {
    "0:0": Source("0:0", "file-a", "favorite_foods.txt"),
    "0:1": Source("0:1", "file-b", "b.md"),
}


def _run(chunks: list[str]) -> tuple[CitationStream, list[tuple[str, Any]]]:
    stream = CitationStream(dict(SOURCES))
    out: list[tuple[str, Any]] = []
    for chunk in chunks:
        out += stream.feed(chunk)
    out += stream.flush()
    return stream, out


def test_marker_split_across_deltas_is_one_delta_with_its_annotation() -> None:
    stream, out = _run(["Filip likes cake", "【0:", "0†whatever", "】."])
    assert stream.text == "Filip likes cake【0:0†favorite_foods.txt】."
    (ann,) = stream.annotations
    assert stream.text[ann["start_index"] : ann["end_index"]] == ann["text"]
    assert (ann["start_index"], ann["end_index"]) == (16, 40)
    assert ann["file_citation"] == {"file_id": "file-a"}
    marked = [piece for piece in out if piece[1] is not None]
    assert len(marked) == 1
    value, delta = marked[0]
    assert value == "【0:0†favorite_foods.txt】"
    assert delta["index"] == 0
    assert delta["file_citation"] == {"file_id": "file-a", "quote": ""}
    assert "".join(v for v, _ in out) == stream.text


def test_indices_count_code_points_not_utf16_units() -> None:
    stream, _ = _run(["😀 emoji first 【0:1†x】"])
    (ann,) = stream.annotations
    assert stream.text[ann["start_index"] : ann["end_index"]] == "【0:1†b.md】"
    assert ann["start_index"] == len("😀 emoji first ")


def test_unknown_result_markers_are_dropped_and_bare_indices_resolve() -> None:
    stream, _ = _run(["a【9:9†nope】 b【1】 c【not a marker】"])
    assert stream.text == "a b【0:1†b.md】 c【not a marker】"
    assert [a["file_citation"]["file_id"] for a in stream.annotations] == ["file-b"]


def test_unclosed_bracket_is_released_as_text() -> None:
    stream, _ = _run(["x 【" + "y" * 200])
    assert stream.text == "x 【" + "y" * 200
    assert stream.annotations == []


def test_cite_top_appends_the_best_result_once() -> None:
    stream = CitationStream(dict(SOURCES))
    stream.feed("An answer.")
    (piece,) = stream.cite_top()
    assert piece[0] == "【0:0†favorite_foods.txt】"
    assert stream.cite_top() == []
    assert stream.annotations[0]["start_index"] == len("An answer.")
