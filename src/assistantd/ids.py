"""Object ids: the only place where OpenAI's id prefixes are spelled.

Ids look like OpenAI's (a prefix and 24 base62 characters) but are ordered by
creation time: 8 characters of milliseconds, then 16 that are random at each new
millisecond and count up within one. Lists page by id (keyset pagination), so a
cursor stays valid even after the object it names was deleted, and a page costs
the same on a thread of ten messages or ten million.
"""

from __future__ import annotations

import os
import re
import threading
import time
from enum import StrEnum

__all__ = [
    "IdKind",
    "InvalidIdError",
    "check_id",
    "id_at",
    "id_key",
    "new_conversation_id",
    "new_id",
]

# In ASCII order, so that ids sort by bytes (SQLite BINARY, PostgreSQL "C").
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TIME_CHARS = 8
_RAND_CHARS = 16
_RAND_SPACE = 62**_RAND_CHARS


class IdKind(StrEnum):
    """Object kind → id prefix, as OpenAI spells them."""

    assistant = "asst_"
    thread = "thread_"
    message = "msg_"
    run = "run_"
    run_step = "step_"
    tool_call = "call_"
    file = "file-"
    vector_store = "vs_"
    vector_store_file_batch = "vsfb_"
    upload = "upload_"
    upload_part = "part_"
    api_key = "key_"
    chat_completion = "chatcmpl-"
    response = "resp_"
    # Output items of a response other than messages (which keep `msg_`).
    function_call_item = "fc_"
    file_search_call = "fs_"
    code_interpreter_call = "ci_"
    # A conversation is a thread (docs/conversations.md): either prefix names one.
    conversation = "conv_"
    # Conversation items that are neither messages nor tool calls read from a run.
    function_call_output_item = "fco_"
    reasoning_item = "rs_"


class InvalidIdError(ValueError):
    """A path id that cannot name an object of the expected kind."""


def _encode(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 62)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


class _Generator:
    """Strictly increasing ids within this process, even when the clock steps back.

    Randomness comes from the OS (ids are hard to guess) but is read 4 KiB at a
    time: a `getrandom` call per id releases the GIL, and on a busy server getting it
    back costs more than the rest of the id.
    """

    _ENTROPY_CHUNK = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._last_rand = 0
        self._entropy = b""
        self._offset = 0

    def _random_start(self) -> int:
        if self._offset + 12 > len(self._entropy):
            self._entropy = os.urandom(self._ENTROPY_CHUNK)
            self._offset = 0
        chunk = self._entropy[self._offset : self._offset + 12]
        self._offset += 12
        # Lower half, so that counting up within one millisecond cannot overflow.
        start: int = int.from_bytes(chunk, "big") % (_RAND_SPACE // 2)
        return start

    def next(self) -> str:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms <= self._last_ms:
                ms = self._last_ms
                self._last_rand += 1
                if self._last_rand >= _RAND_SPACE:  # pragma: no cover - 2^94 ids in 1 ms
                    ms += 1
                    self._last_rand = self._random_start()
            else:
                self._last_rand = self._random_start()
            self._last_ms = ms
            return _encode(ms, _TIME_CHARS) + _encode(self._last_rand, _RAND_CHARS)


_generator = _Generator()


def new_id(kind: IdKind) -> str:
    """A new id for an object of `kind`, e.g. `new_id(IdKind.thread)` → `thread_0Uc3…`."""
    return kind.value + _generator.next()


def id_at(kind: IdKind, ms: int) -> str:
    """An id of `kind` that sorts at millisecond `ms` (an object imported from a server
    whose ids are not time-ordered keeps its place in every list)."""
    rand = int.from_bytes(os.urandom(12), "big") % _RAND_SPACE
    return kind.value + _encode(max(ms, 0), _TIME_CHARS) + _encode(rand, _RAND_CHARS)


def new_conversation_id() -> str:
    """`conv_` and 48 hex digits, as OpenAI spells conversation ids; ordered by creation
    time like every other id (12 digits of milliseconds, then 36 from `new_id`'s
    counter, which keeps them strictly increasing within this process)."""
    suffix = new_id(IdKind.conversation).removeprefix(IdKind.conversation.value)
    ms, rest = suffix[:_TIME_CHARS], suffix[_TIME_CHARS:]
    as_int = 0
    for char in rest:
        as_int = as_int * 62 + _ALPHABET.index(char)
    millis = 0
    for char in ms:
        millis = millis * 62 + _ALPHABET.index(char)
    return f"{IdKind.conversation.value}{millis:012x}{as_int:036x}"


def id_key(item_id: str) -> str:
    """Where an item stands in its conversation: the time-ordered part of its id.

    Messages, tool calls (their call ids) and stored items are all minted by `new_id`,
    so the part after the prefix orders them by creation whatever their kind."""
    return item_id.partition("_")[2]


# A thread and a conversation are one object; a path naming either accepts both.
_ALSO = {IdKind.thread: IdKind.conversation, IdKind.conversation: IdKind.thread}

_ID_CHARS = re.compile(r"[A-Za-z0-9_-]*")


def check_id(kind: IdKind, value: str, param: str) -> str:
    """Reject an id of the wrong kind the way OpenAI does, before touching the database.

    Ids hold only letters, digits, '_' and '-': anything else (a NUL, which PostgreSQL
    cannot even compare) names no object, and is refused here as a 400.
    """
    if not _ID_CHARS.fullmatch(value):
        raise InvalidIdError(f"Invalid '{param}': ids contain only letters, digits, '_' and '-'.")
    also = _ALSO.get(kind)
    if also is not None and value.startswith(also.value) and len(value) <= 128:
        return value
    if not value.startswith(kind.value) or len(value) > 128:
        prefix = kind.value.rstrip("_-")
        raise InvalidIdError(
            f"Invalid '{param}': '{value}'. Expected an ID that begins with '{prefix}'."
        )
    return value
