"""Vector store requests: stores, their files and batches, search and its filters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from assistantd.protocol.common import ListParams, Metadata, RequestModel
from assistantd.protocol.tools import AutoChunking, StaticChunking

__all__ = [
    "Attributes",
    "ChunkingStrategy",
    "ComparisonFilter",
    "CompoundFilter",
    "ExpiresAfter",
    "FileBatchCreate",
    "SearchRequest",
    "StoreFileCreate",
    "StoreFileListParams",
    "StoreFileUpdate",
    "VectorStoreCreate",
    "VectorStoreUpdate",
]

ChunkingStrategy = Annotated[AutoChunking | StaticChunking, Field(discriminator="type")]


def _check_attributes(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if len(value) > 16:
        raise ValueError(
            "Invalid 'attributes': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(value)} properties instead."
        )
    for key, item in value.items():
        if len(key) > 64:
            raise ValueError(
                f"Invalid 'attributes': key '{key[:70]}' is too long. Expected a key with "
                f"maximum length 64, but got a key with length {len(key)} instead."
            )
        if isinstance(item, str):
            if len(item) > 512:
                raise ValueError(
                    f"Invalid 'attributes.{key}': string too long. Expected a string with "
                    f"maximum length 512, but got a string with length {len(item)} instead."
                )
        elif not isinstance(item, bool | int | float):
            raise ValueError(
                f"Invalid type for 'attributes.{key}': expected a string, number or boolean."
            )
    return value


Attributes = Annotated[
    dict[str, str | bool | int | float] | None, AfterValidator(_check_attributes)
]


class ExpiresAfter(RequestModel):
    anchor: Literal["last_active_at"]
    days: int = Field(ge=1, le=365)


class VectorStoreCreate(RequestModel):
    file_ids: list[str] = Field(default_factory=list, max_length=500)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    expires_after: ExpiresAfter | None = None
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata = None


class VectorStoreUpdate(RequestModel):
    name: str | None = Field(default=None, max_length=256)
    expires_after: ExpiresAfter | None = None
    metadata: Metadata = None


class StoreFileCreate(RequestModel):
    file_id: str
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes = None


class StoreFileUpdate(RequestModel):
    attributes: Attributes


class FileBatchCreate(RequestModel):
    file_ids: list[str] | None = Field(default=None, min_length=1, max_length=2000)
    files: list[StoreFileCreate] | None = Field(default=None, min_length=1, max_length=2000)
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes = None

    @model_validator(mode="after")
    def _one_of(self) -> FileBatchCreate:
        if (self.file_ids is None) == (self.files is None):
            raise ValueError("Exactly one of 'file_ids' or 'files' must be given.")
        return self


StoreFileStatus = Literal["in_progress", "completed", "failed", "cancelled"]


class StoreFileListParams(ListParams):
    filter: StoreFileStatus | None = None


Scalar = str | bool | int | float


class ComparisonFilter(RequestModel):
    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"] = "eq"
    key: str
    value: Scalar | list[str | int | float]

    @model_validator(mode="after")
    def _list_for_in(self) -> ComparisonFilter:
        if self.type in ("in", "nin") and not isinstance(self.value, list):
            raise ValueError(f"Filter '{self.type}' needs an array 'value'.")
        if self.type not in ("in", "nin") and isinstance(self.value, list):
            raise ValueError(f"Filter '{self.type}' needs a string, number or boolean 'value'.")
        return self


class CompoundFilter(RequestModel):
    type: Literal["and", "or"]
    filters: list[Annotated[ComparisonFilter | CompoundFilter, Field(union_mode="left_to_right")]]


Filter = Annotated[CompoundFilter | ComparisonFilter, Field(union_mode="left_to_right")]


class SearchRankingOptions(RequestModel):
    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0, le=1)


# Not in the spec: bounds so that one request cannot make the server embed megabytes.
MAX_QUERY_CHARS = 4096
MAX_QUERIES = 10
Query = Annotated[str, Field(max_length=MAX_QUERY_CHARS)]


class SearchRequest(RequestModel):
    query: Query | Annotated[list[Query], Field(min_length=1, max_length=MAX_QUERIES)]
    rewrite_query: bool = False
    max_num_results: int = Field(default=10, ge=1, le=50)
    filters: Filter | None = None
    ranking_options: SearchRankingOptions | None = None

    @model_validator(mode="after")
    def _some_query(self) -> SearchRequest:
        queries = [self.query] if isinstance(self.query, str) else self.query
        if not queries or not any(q.strip() for q in queries):
            raise ValueError("Invalid 'query': expected a non-empty string or array of strings.")
        return self
