"""The answer's text as the tools' editors let it through (tools/base.py, AnswerEditor).

Text the model writes goes through each editor in turn; a piece an editor annotated
(a citation) passes the later editors untouched, so its span stays what the editor
meant. The engine, not the editor, places a piece: its annotation gets the span the
piece takes in the message's text and its index among the message's annotations, and
goes out in the same delta as the text, exactly once (the SDKs concatenate anything
they see twice). With no editor, text streams as it comes.
"""

from __future__ import annotations

from collections.abc import Callable

from assistantd.engine.deltas import text_delta, text_event
from assistantd.engine.turn import Turn
from assistantd.events.bus import EventBus
from assistantd.tools.base import JSON, AnswerEditor, Piece

__all__ = ["annotate", "feed", "finish", "flush", "place"]


def _through(
    editors: list[AnswerEditor], first: Callable[[AnswerEditor], list[Piece]], text: str = ""
) -> list[Piece]:
    """The first editor's `first` (feed, flush or finish), then each later editor's the
    same for what the one before let out, plain text fed on."""
    pieces = [Piece(text)] if text else []
    for editor in editors:
        out: list[Piece] = []
        for piece in pieces:
            out += [piece] if piece.annotation is not None else editor.feed(piece.text)
        pieces = out + first(editor)
    return pieces


def place(
    text: str, annotations: list[JSON], pieces: list[Piece]
) -> tuple[str, list[JSON], list[tuple[str, list[JSON]]]]:
    """The text and annotations after `pieces`, and each piece's delta: its text and the
    annotation it carries, numbered and with its span."""
    annotations = list(annotations)
    deltas: list[tuple[str, list[JSON]]] = []
    for piece in pieces:
        notes: list[JSON] = []
        if piece.annotation is not None:
            start = len(text)
            span = {"start_index": start, "end_index": start + len(piece.text)}
            annotations.append({**piece.annotation, **span})
            shown = piece.shown if piece.shown is not None else piece.annotation
            notes = [{"index": len(annotations) - 1, **shown, **span}]
        text += piece.text
        if piece.text or notes:
            deltas.append((piece.text, notes))
    return text, annotations, deltas


async def _publish(bus: EventBus, turn: Turn, pieces: list[Piece]) -> None:
    turn.text, turn.annotations, deltas = place(turn.text, turn.annotations, pieces)
    events = [text_event(turn, value, notes) for value, notes in deltas]
    if events:
        await bus.publish_many(turn.run["id"], events)


async def feed(bus: EventBus, turn: Turn, text: str) -> None:
    if not turn.editors:
        turn.text += text
        await text_delta(bus, turn, text)
        return
    await _publish(bus, turn, _through(turn.editors, lambda e: [], text))


async def flush(bus: EventBus, turn: Turn) -> None:
    """The text stops here (tool calls follow, or the answer ends): nothing held back."""
    if turn.editors and turn.message is not None:
        await _publish(bus, turn, _through(turn.editors, lambda e: e.flush()))


async def finish(bus: EventBus, turn: Turn, cites_sources: bool) -> None:
    """The answer is complete: what the editors add at its end."""
    await flush(bus, turn)
    if turn.editors and turn.message is not None:
        await _publish(bus, turn, _through(turn.editors, lambda e: e.finish(cites_sources)))


async def annotate(bus: EventBus, turn: Turn, added: list[JSON]) -> None:
    """Annotations of the finished text (their spans set by the tool), in one last delta."""
    if not added:
        return
    numbered = [{**a, "index": len(turn.annotations) + i} for i, a in enumerate(added)]
    turn.annotations = [*turn.annotations, *added]
    await text_delta(bus, turn, "", numbered)
