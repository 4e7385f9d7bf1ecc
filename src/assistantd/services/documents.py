"""Helpers every service uses to turn request models into stored wire documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel

__all__ = ["dump", "encode", "metadata_or_empty"]


def dump(model: BaseModel) -> dict[str, Any]:
    """A request sub-object as the client sent it (defaults it left out stay out).

    Explicit nulls are dropped too: the response schemas make none of these nested
    fields nullable (`{"vector_store_ids": null}` must not come back as given), and to a
    reader an absent optional field and a null one mean the same.
    """
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


def encode(doc: Mapping[str, Any]) -> str:
    return orjson.dumps(doc).decode()


def metadata_or_empty(value: dict[str, str] | None) -> dict[str, str]:
    # OpenAI returns `{}` for metadata that was never set or set to null.
    return value if value is not None else {}
