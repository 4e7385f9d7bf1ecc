"""Helpers every service uses to turn request models into stored wire documents."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel

__all__ = ["dump", "encode", "metadata_or_empty"]


def dump(model: BaseModel) -> dict[str, Any]:
    """A request sub-object as the client sent it (defaults it left out stay out)."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def encode(doc: dict[str, Any]) -> str:
    return orjson.dumps(doc).decode()


def metadata_or_empty(value: dict[str, str] | None) -> dict[str, str]:
    # OpenAI returns `{}` for metadata that was never set or set to null.
    return value if value is not None else {}
