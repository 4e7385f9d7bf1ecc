"""The wire documents of vector stores, their files and batches, and the rule that keeps
their status and counts true: every unit that changes a file's status calls `refresh`,
which recounts in the same transaction (docs/vector-stores.md: "Status and counts",
"What the SDK helpers poll").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from assistantd.errors import InvalidRequest
from assistantd.protocol.documents import (
    FileBatchDoc,
    FileCounts,
    VectorStoreDoc,
    VectorStoreFileDoc,
)
from assistantd.protocol.objects import ErrorInfo
from assistantd.services.documents import encode
from assistantd.store.repos.vector_stores import batches_repo as batches
from assistantd.store.repos.vector_stores import stores_repo as stores
from assistantd.store.sql import Conn

__all__ = [
    "DAY_S",
    "batch_doc",
    "check_store_refs",
    "file_counts",
    "refresh",
    "store_doc",
    "store_file_doc",
]

DAY_S = 86_400
_STATUSES = ("in_progress", "completed", "failed", "cancelled")


def check_store_refs(conn: Conn, project: str, refs: Iterable[tuple[str, str]]) -> None:
    """Every (store_id, param) must name a vector store of this project: a 400 otherwise,
    as a foreign File is (another project's store is as unknown here as a made-up id)."""
    for store_id, param in refs:
        if stores.get_doc(conn, project, store_id) is None:
            raise InvalidRequest(
                f"No vector store found with id '{store_id}'.",
                param=param,
                code="vector_store_not_found",
            )


def file_counts(counts: dict[str, int]) -> FileCounts:
    out: FileCounts = {
        "in_progress": counts.get("in_progress", 0),
        "completed": counts.get("completed", 0),
        "failed": counts.get("failed", 0),
        "cancelled": counts.get("cancelled", 0),
        "total": 0,
    }
    out["total"] = sum(counts.get(s, 0) for s in _STATUSES)
    return out


def store_doc(
    *,
    store_id: str,
    created_at: int,
    name: str | None,
    description: str | None,
    expires_after: dict[str, Any] | None,
    last_active_at: int,
    metadata: dict[str, str],
) -> VectorStoreDoc:
    """A new store (no files yet). Key order follows the real responses (REC)."""
    doc: VectorStoreDoc = {
        "id": store_id,
        "object": "vector_store",
        "created_at": created_at,
        "name": name,
        "description": description,
        "usage_bytes": 0,
        "file_counts": file_counts({}),
        "status": "completed",
        "expires_after": expires_after,
        "expires_at": None,
        "last_active_at": last_active_at,
        "metadata": metadata,
    }
    if expires_after is None:
        del doc["expires_after"]  # optional and not nullable in the schema: left out
    set_expiry(doc)
    return doc


def set_expiry(doc: VectorStoreDoc | dict[str, Any]) -> int | None:
    """`expires_at` = last_active_at + days; returns when the sweeper must look."""
    policy = doc.get("expires_after")
    if doc["status"] == "expired":
        return None
    doc["expires_at"] = doc["last_active_at"] + policy["days"] * DAY_S if policy else None
    expires_at: int | None = doc["expires_at"]
    return expires_at


def store_file_doc(
    *,
    file_id: str,
    store_id: str,
    created_at: int,
    status: str,
    chunking_strategy: dict[str, Any],
    attributes: dict[str, Any],
    usage_bytes: int = 0,
    last_error: ErrorInfo | None = None,
) -> VectorStoreFileDoc:
    return {
        "id": file_id,
        "object": "vector_store.file",
        "usage_bytes": usage_bytes,
        "created_at": created_at,
        "vector_store_id": store_id,
        "status": status,
        "last_error": last_error,
        "chunking_strategy": chunking_strategy,
        "attributes": attributes,
    }


def batch_doc(*, batch_id: str, store_id: str, created_at: int) -> FileBatchDoc:
    # The spec and the SDK say `files_batch`; OpenAI sent `file_batch` (CONTRACT keeps the spec).
    return {
        "id": batch_id,
        "object": "vector_store.files_batch",
        "created_at": created_at,
        "vector_store_id": store_id,
        "status": "in_progress",
        "file_counts": file_counts({}),
    }


def _batch_status(current: str, counts: dict[str, int]) -> str:
    if current == "cancelled":
        return "cancelled"
    if counts["in_progress"]:
        return "in_progress"
    if counts["failed"] and not counts["completed"]:
        return "failed"
    return "completed"


def refresh(conn: Conn, project: str, store_id: str, batch_ids: Iterable[str | None] = ()) -> bytes:
    """Recount a store (and some of its batches) after its files changed; the store's doc."""
    raw = stores.get_doc(conn, project, store_id)
    assert raw is not None, "refresh of a store that is gone"
    doc = orjson.loads(raw)
    counts, usage = stores.counts(conn, "vector_store_id", store_id)
    doc["file_counts"] = file_counts(counts)
    doc["usage_bytes"] = usage
    if doc["status"] != "expired":
        doc["status"] = "in_progress" if doc["file_counts"]["in_progress"] else "completed"
    sweep_at = set_expiry(doc)
    text = encode(doc)
    stores.set(conn, store_id, text, sweep_at)
    for batch_id in {b for b in batch_ids if b}:
        found = batches.get_doc(conn, project, batch_id)
        if found is None:
            continue
        batch = orjson.loads(found)
        batch_counts, _ = stores.counts(conn, "batch_id", batch_id)
        batch["file_counts"] = file_counts(batch_counts)
        batch["status"] = _batch_status(batch["status"], batch["file_counts"])
        batches.replace(conn, project, batch_id, encode(batch))
    return text.encode()
