"""Shared wire pieces: the strict request base, Metadata, list parameters."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "MAX_LIST_LIMIT",
    "ListParams",
    "Metadata",
    "Order",
    "RequestModel",
]

MAX_LIST_LIMIT = 100
Order = Literal["asc", "desc"]


class RequestModel(BaseModel):
    """Every request body in the spec has `additionalProperties: false`; so do we."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


def _check_metadata(value: dict[str, str] | None) -> dict[str, str] | None:
    # Limits are stated in the spec's prose only (docs/contract.md, "Limits and defaults").
    if value is None:
        return None
    if len(value) > 16:
        raise ValueError(
            f"Invalid 'metadata': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(value)} properties instead."
        )
    for key, item in value.items():
        if len(key) > 64:
            raise ValueError(
                f"Invalid 'metadata': key '{key[:70]}' is too long. Expected a key with "
                f"maximum length 64, but got a key with length {len(key)} instead."
            )
        if len(item) > 512:
            raise ValueError(
                f"Invalid 'metadata.{key}': string too long. Expected a string with maximum "
                f"length 512, but got a string with length {len(item)} instead."
            )
    return value


Metadata = Annotated[dict[str, str] | None, AfterValidator(_check_metadata)]


class ListParams(BaseModel):
    """The cursor-list query: `limit`, `order`, `after`, `before` (docs/contract.md,
    "Pagination")."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: int = Field(default=20, ge=1, le=MAX_LIST_LIMIT)
    order: Order = "desc"
    after: str | None = None
    before: str | None = None
