"""The Responses streaming grammar, checked on every streamed test (docs/responses.md).

What the SDKs' stream helpers rely on: the stream starts with `response.created`;
sequence numbers run 0, 1, 2... with no gap; one response id throughout; no event for
an output index before its `output_item.added`; every added item is done; exactly one
final event (`response.completed`, `.incomplete` or `.failed`) and nothing after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

FINAL = ("response.completed", "response.incomplete", "response.failed")


def _dump(event: Any) -> dict[str, Any]:
    if isinstance(event, dict):
        return event
    dumped: dict[str, Any] = event.model_dump(mode="json", warnings=False)
    return dumped


def check_grammar(events: Sequence[Any], *, after: int = -1) -> list[dict[str, Any]]:
    """Raise AssertionError naming the first broken rule; the events as dicts.

    `after`: the events are a resumed stream's, starting after that sequence number."""
    out = [_dump(e) for e in events]
    assert out, "an empty stream"
    seqs = [e["sequence_number"] for e in out]
    assert seqs == list(range(after + 1, after + 1 + len(out))), f"sequence numbers {seqs}"
    if after < 0:
        assert out[0]["type"] == "response.created", out[0]["type"]
    ids = {e["response"]["id"] for e in out if "response" in e}
    assert len(ids) <= 1, f"the response id changed: {ids}"
    finals = [i for i, e in enumerate(out) if e["type"] in FINAL]
    assert finals == [len(out) - 1], f"final events at {finals} of {len(out)}"
    if after >= 0:
        return out
    added: dict[int, str] = {}
    done: set[int] = set()
    for e in out:
        index = e.get("output_index")
        if e["type"] == "response.output_item.added":
            assert index not in added, f"output index {index} added twice"
            assert index == len(added), f"output index {index} out of order"
            added[index] = e["item"]["id"]
        elif index is not None:
            assert index in added, f"{e['type']} for output index {index} before it was added"
            assert index not in done, f"{e['type']} for output index {index} after it was done"
            if "item_id" in e:
                assert e["item_id"] == added[index], f"{e['type']} names another item"
            if e["type"] == "response.output_item.done":
                done.add(index)
    assert set(added) == done, f"items added but never done: {set(added) - done}"
    final = out[-1]["response"]
    assert [i["id"] for i in final["output"]] == [added[i] for i in sorted(added)]
    return out
