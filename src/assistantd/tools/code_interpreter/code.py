"""The code inside a model's call, read while it is still being written, and the
`sandbox:/mnt/data/NAME` links in its answer.

The model writes `{"code": "..."}` token by token; OpenAI streamed the *code* as the
step's `input`, so the JSON string is decoded as far as it is complete. A model that
writes raw code instead of JSON (small ones do) gets its arguments taken as the code.
"""

from __future__ import annotations

import json
import re

__all__ = ["code_of", "sandbox_links", "streamed_code"]

_KEY = re.compile(r'^\s*\{\s*"code"\s*:\s*"')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
# A link the model writes to a file the code saved: `sandbox:/mnt/data/report.csv`,
# often as the target of a Markdown link. Names stop at whitespace, quotes, brackets.
_LINK = re.compile(r"sandbox:/mnt/data/([^\s\)\]\"'<>`]+)")


def streamed_code(arguments: str) -> str:
    """The code decoded so far from partial JSON arguments ("" if not JSON-shaped)."""
    match = _KEY.match(arguments)
    if match is None:
        return ""
    out: list[str] = []
    i, n = match.end(), len(arguments)
    while i < n:
        ch = arguments[i]
        if ch == '"':
            break
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            break  # an escape cut in two: wait for the rest
        esc = arguments[i + 1]
        if esc == "u":
            digits = arguments[i + 2 : i + 6]
            if len(digits) < 4:
                break
            try:
                code = int(digits, 16)
            except ValueError:
                break
            if 0xD800 <= code < 0xDC00:  # a surrogate pair: wait for its second half
                low = arguments[i + 8 : i + 12]
                if len(low) < 4 or arguments[i + 6 : i + 8] != "\\u":
                    break
                code = 0x10000 + ((code - 0xD800) << 10) + (int(low, 16) - 0xDC00)
                i += 6
            out.append(chr(code))
            i += 6
            continue
        out.append(_ESCAPES.get(esc, esc))
        i += 2
    return "".join(out)


def code_of(arguments: str) -> str:
    """The code of a finished call."""
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return streamed_code(arguments) or arguments
    if isinstance(parsed, dict):
        code = parsed.get("code")
        if isinstance(code, str):
            return code
        return ""
    return arguments


def sandbox_links(text: str) -> list[tuple[int, int, str]]:
    """Each link's (start, end, file name) in `text`, as OpenAI annotated them: the span
    covers `sandbox:/mnt/data/NAME` (not the Markdown around it)."""
    found = []
    for match in _LINK.finditer(text):
        name = match.group(1).rstrip(".,;:!?")
        end = match.start() + len("sandbox:/mnt/data/") + len(name)
        found.append((match.start(), end, name))
    return found
