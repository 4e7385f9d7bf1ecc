"""Turning Pydantic's validation errors into OpenAI's 400s, with `param` naming the field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from assistantd.errors import InvalidRequest

__all__ = ["check_no_nul", "invalid_request_from", "param_path", "parse_body"]

M = TypeVar("M", bound=BaseModel)


def param_path(loc: Sequence[int | str], data: Any = None) -> str:
    """('tools', 0, 'function', 'name') → 'tools[0].function.name'.

    Pydantic's `loc` also names union branches ('constrained-str', 'tagged-union[…]')
    and discriminator tags. Walking the request data alongside keeps only the steps
    that exist in what the client sent, plus a final missing key.
    """
    out = ""
    node = data
    last = len(loc) - 1
    for i, part in enumerate(loc):
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            out += f"[{part}]"
            node = node[part]
        elif isinstance(part, str) and (
            (isinstance(node, dict) and part in node) or (i == last and data is None)
        ):
            out += f".{part}" if out else part
            node = node[part] if isinstance(node, dict) else None
        elif i == last and isinstance(node, dict) and isinstance(part, str):
            out += f".{part}" if out else part  # a required key the client left out
    return out


def _describe(error: dict[str, Any], param: str) -> tuple[str, str]:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    received = error.get("input")
    if kind == "missing":
        return f"Missing required parameter: '{param}'.", "missing_required_parameter"
    if kind == "extra_forbidden":
        return f"Unrecognized request argument supplied: {param}", "unknown_parameter"
    if kind == "string_too_long":
        return (
            f"Invalid '{param}': string too long. Expected a string with maximum length "
            f"{ctx.get('max_length')}, but got a string with length {len(received or '')} instead.",
            "string_above_max_length",
        )
    if kind in ("string_too_short", "too_short") and not received:
        kind_name, article = ("string", "a") if isinstance(received, str) else ("array", "an")
        return (
            f"Invalid '{param}': empty {kind_name}. Expected {article} {kind_name} with minimum "
            f"length {ctx.get('min_length', 1)}, but got an empty {kind_name} instead.",
            f"empty_{kind_name}",
        )
    if kind == "too_long":
        return (
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{ctx.get('max_length')}, but got an array with length {len(received or [])} instead.",
            "array_above_max_length",
        )
    if kind in ("less_than_equal", "less_than"):
        return (
            f"Invalid '{param}': {_number_noun(received)} above maximum value. Expected a value "
            f"<= {ctx.get('le', ctx.get('lt'))}, but got {received} instead.",
            f"{_number_noun(received)}_above_max_value",
        )
    if kind in ("greater_than_equal", "greater_than"):
        return (
            f"Invalid '{param}': {_number_noun(received)} below minimum value. Expected a value "
            f">= {ctx.get('ge', ctx.get('gt'))}, but got {received} instead.",
            f"{_number_noun(received)}_below_min_value",
        )
    if kind == "union_tag_invalid":
        return (
            f"Invalid value: '{ctx.get('tag')}'. Supported values are: {ctx.get('expected_tags')}.",
            "invalid_value",
        )
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected") or ""
        return (
            f"Invalid value: {_show(received)}. Supported values are: {expected}.",
            "invalid_value",
        )
    if kind.endswith(("_type", "_parsing")):
        return (
            f"Invalid type for '{param}': expected {_expected(kind)}, but got "
            f"{_noun(received)} instead.",
            "invalid_type",
        )
    message = error["msg"].removeprefix("Value error, ")
    if not message.startswith("Invalid"):
        message = f"Invalid '{param}': {message}"
    return message, "invalid_value"


def _number_noun(value: Any) -> str:
    return "integer" if isinstance(value, int) else "decimal"


def _expected(kind: str) -> str:
    return {
        "string_type": "a string",
        "int_type": "an integer",
        "int_parsing": "an integer",
        "float_type": "a number",
        "float_parsing": "a number",
        "bool_type": "a boolean",
        "list_type": "an array",
        "dict_type": "an object",
        "model_type": "an object",
        "model_attributes_type": "an object",
    }.get(kind, "a different type")


def _noun(value: Any) -> str:
    if isinstance(value, str):
        return "a string" if value else "string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array" if value else "array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else "a value"


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else orjson.dumps(value).decode()


def _wrong_branch(error: Any) -> bool:
    kind = error["type"]
    return bool(
        kind.endswith("_type")
        or kind.endswith("_parsing")
        or (kind == "literal_error" and not isinstance(error.get("input"), str))
    )


def invalid_request_from(errors: Sequence[Any], data: Any = None) -> InvalidRequest:
    """One error, phrased the way OpenAI phrased it.

    For a union Pydantic reports one error per branch; the one from the branch whose
    type matches the input (then the deepest) is the one the client needs to see.
    """
    error = max(errors, key=lambda e: (not _wrong_branch(e), len(e["loc"])))
    param = param_path(error["loc"], data) or None
    message, code = _describe(dict(error), param or "body")
    return InvalidRequest(message, param=param, code=code)


def _nul_at(node: Any, path: str) -> str | None:
    """The param path of the first string (or object key) holding a NUL, if any."""
    if isinstance(node, str):
        return path if "\x00" in node else None
    if isinstance(node, dict):
        for key, value in node.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return inner
            if (found := _nul_at(value, inner)) is not None:
                return found
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if (found := _nul_at(value, f"{path}[{i}]")) is not None:
                return found
    return None


def check_no_nul(value: str, param: str) -> None:
    """NUL characters are refused everywhere: PostgreSQL cannot store them in text, and
    both backends must answer the same (a 400 naming the parameter, never a 500)."""
    if "\x00" in value:
        raise _nul_error(param)


def _nul_error(param: str) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid '{param}': strings may not contain NUL characters (\\u0000).",
        param=param,
        code="invalid_value",
    )


def parse_body(model: type[M], body: bytes) -> M:
    """Validate a JSON body against a request model; any problem is a 400, never a 500.

    The happy path parses and validates in one pass (`model_validate_json`); only a
    failure decodes the JSON separately, to name the offending field.
    """
    if not body.strip():
        body = b"{}"
    if b"\\u0000" in body:  # JSON can carry a NUL only escaped; a raw one is invalid JSON
        try:
            found = _nul_at(orjson.loads(body), "")
        except orjson.JSONDecodeError:
            found = None  # reported below as what it is
        if found is not None:
            raise _nul_error(found or "body")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors()
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as decode_error:
        raise InvalidRequest(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            f"but what was sent was not valid JSON.) ({decode_error.msg})",
            code="invalid_json",
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest(
            f"Invalid body: expected an object, but got {_noun(data)} instead.",
            code="invalid_type",
        )
    raise invalid_request_from(errors, data)
