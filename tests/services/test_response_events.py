"""A run's events as a Response's stream (services/response_events.py) and the
citations mapping between the surfaces (services/response_docs.py), in process."""

from __future__ import annotations

from typing import Any

import orjson

from assistantd.services.response_docs import TextMap, convert_text
from assistantd.services.response_events import ResponseEvents, output_events
from tests.contract.response_grammar import check_grammar

RUN = {"id": "run_1", "status": "in_progress"}
CITE = {
    "type": "file_citation",
    "text": "【0:0†notes.txt】",
    "start_index": 5,
    "end_index": 20,
    "file_citation": {"file_id": "file-1"},
}


def test_a_marker_becomes_a_point_citation_and_later_spans_shift() -> None:
    text = "Cake.【0:0†notes.txt】 See sandbox:/mnt/data/a.png"
    link = {
        "type": "file_path",
        "text": "sandbox:/mnt/data/a.png",
        "start_index": 25,
        "end_index": 48,
        "file_path": {"file_id": "file-2"},
    }
    plain, notes = convert_text(text, [CITE, link], "cntr_1")
    assert plain == "Cake. See sandbox:/mnt/data/a.png"
    assert notes[0] == {
        "type": "file_citation",
        "file_id": "file-1",
        "filename": "notes.txt",
        "index": 5,
    }
    assert notes[1]["type"] == "container_file_citation"
    assert plain[notes[1]["start_index"] : notes[1]["end_index"]] == "sandbox:/mnt/data/a.png"


def test_streamed_pieces_map_as_the_whole_text_does() -> None:
    streaming = TextMap("cntr_1")
    assert streaming.add("Cake.", []) == ("Cake.", [])
    text, notes = streaming.add("【0:0†notes.txt】", [CITE])
    assert text == ""
    assert notes[0]["index"] == 5
    assert streaming.add(" More.", []) == (" More.", [])


def _message(status: str, value: str = "", annotations: list[Any] | None = None) -> bytes:
    content = [{"type": "text", "text": {"value": value, "annotations": annotations or []}}]
    return orjson.dumps({"id": "msg_1", "status": status, "content": content if value else []})


def _log() -> list[tuple[str, bytes]]:
    delta = {
        "id": "msg_1",
        "delta": {"content": [{"index": 0, "type": "text", "text": {"value": "Cake."}}]},
    }
    cited = {
        "id": "msg_1",
        "delta": {
            "content": [
                {
                    "index": 0,
                    "type": "text",
                    "text": {"value": "【0:0†notes.txt】", "annotations": [{**CITE, "index": 0}]},
                }
            ]
        },
    }
    return [
        ("thread.run.created", orjson.dumps({**RUN, "status": "queued"})),
        ("thread.run.queued", orjson.dumps({**RUN, "status": "queued"})),
        ("thread.run.in_progress", orjson.dumps(RUN)),
        ("thread.message.created", _message("in_progress")),
        ("thread.message.delta", orjson.dumps(delta)),
        ("thread.message.delta", orjson.dumps(cited)),
        ("thread.message.completed", _message("completed", "Cake.【0:0†notes.txt】", [CITE])),
        ("thread.run.completed", orjson.dumps({**RUN, "status": "completed"})),
    ]


def _doc(run: dict[str, Any], output: list[Any]) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "status": run["status"], "output": output}


async def _translate(background: bool) -> list[dict[str, Any]]:
    final_output: list[Any] = []

    async def final(run: dict[str, Any]) -> dict[str, Any]:
        return _doc(run, final_output)

    events = ResponseEvents(
        "resp_1", "thread_1", background, opening=lambda run: _doc(run, []), final=final
    )
    out: list[dict[str, Any]] = []
    for name, data in _log():
        for event in await events.feed(name, data):
            out.append(event)
            if event["type"] == "response.output_item.done":
                final_output.append(event["item"])
    return out


async def test_a_run_log_translates_into_the_grammar_the_same_way_every_time() -> None:
    first = await _translate(background=True)
    assert await _translate(background=True) == first  # what lets a replay resume
    check_grammar(first)
    types = [e["type"] for e in first]
    assert types[:3] == ["response.created", "response.queued", "response.in_progress"]
    assert types[3:6] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    (added,) = [e for e in first if e["type"] == "response.output_text.annotation.added"]
    assert added["annotation"]["index"] == 5
    done = next(e for e in first if e["type"] == "response.output_text.done")
    assert done["text"] == "Cake."
    assert first[-1]["type"] == "response.completed"


async def test_a_finished_response_makes_its_own_stream() -> None:
    out = await _translate(background=False)
    item = next(e["item"] for e in out if e["type"] == "response.output_item.done")
    made = output_events({**_doc({"status": "completed"}, [item]), "usage": {}}, background=False)
    check_grammar(made)
    assert [e["type"] for e in made] == [e["type"] for e in out]
