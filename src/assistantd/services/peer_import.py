"""`assistantd import --from-api`: another Assistants-compatible server's data, walked
through its public API and written here (docs/data.md, "From another server").

The walk pages every list in creation order (`order=asc`, `after=`): assistants,
threads (`GET /v1/threads` where the peer has it, as assistantd does; otherwise the
thread ids given), each thread's messages, runs and run steps, Files with their bytes,
vector stores and their files. It is written as an archive (store/archive) and loaded
by the same import, so the same checks, idempotence and verification hold: an
interrupted walk is simply run again.

Ids: lists here page by id, which works because ids are time-ordered. A peer's id in
assistantd's own form is kept; any other (OpenAI's random ids) is replaced by a new one
minted at the object's `created_at`, every reference to it is rewritten, and
`mapping.json` beside the archive says which became which. Chunks never cross: the
stores' files are ingested again here by this server's embedding model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from assistantd import __version__, clock
from assistantd.ids import IdKind, id_at
from assistantd.services.run_docs import new_private
from assistantd.store.archive.format import FORMAT, FORMAT_VERSION, FileEntry, Manifest, sha256_of

__all__ = ["PeerError", "walk_peer"]

JSON = dict[str, Any]
_OURS = re.compile(r"^([a-z]+[_-][0-9A-Za-z]{24}|conv_[0-9a-f]{48})$")
_INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"
FROM_API = "from-api"  # the embedding the manifest names: always embedded again here


class PeerError(Exception):
    """The peer cannot be walked (unreachable, refusing the key, no way to list threads)."""


class _Peer:
    def __init__(self, base_url: str, api_key: str, page_size: int, timeout_s: float = 60) -> None:
        self.page_size = page_size
        headers = {"OpenAI-Beta": "assistants=v2"}
        if api_key:  # an open peer (assistantd on loopback) needs none
            headers["Authorization"] = f"Bearer {api_key}"
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)

    def get(self, path: str, **params: Any) -> httpx.Response:
        try:
            answer = self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise PeerError(f"GET {path}: {exc}") from None
        if answer.status_code in (401, 403):
            raise PeerError(f"the peer refused the API key ({answer.status_code})")
        return answer

    def pages(self, path: str, **params: Any) -> Iterator[JSON]:
        """Every object of a list, oldest first, a page of 100 at a time."""
        after: str | None = None
        while True:
            more = {"after": after} if after else {}
            query = {"limit": self.page_size, "order": "asc", **params, **more}
            answer = self.get(path, **query)
            if answer.status_code != 200:
                raise PeerError(f"GET {path}: {answer.status_code} {answer.text[:200]}")
            page = answer.json()
            yield from page["data"]
            if not page.get("has_more") or not page["data"]:
                return
            after = page["data"][-1]["id"]


class _Ids:
    """Keeps ids in assistantd's form; mints time-ordered ones for the rest."""

    def __init__(self) -> None:
        self.mapping: dict[str, str] = {}
        self.minted = 0

    def see(self, kind: IdKind, obj: JSON) -> None:
        old = obj["id"]
        if _OURS.match(old) or old in self.mapping:
            return
        self.minted += 1  # keeps objects of one second in the peer's order
        self.mapping[old] = id_at(kind, int(obj.get("created_at") or 0) * 1000 + self.minted % 1000)

    def rewrite(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.mapping.get(value, value)
        if isinstance(value, list):
            return [self.rewrite(v) for v in value]
        if isinstance(value, dict):
            return {k: self.rewrite(v) for k, v in value.items()}
        return value


def _walk(peer: _Peer, thread_ids: list[str], out: Path) -> dict[str, list[JSON]]:
    found: dict[str, list[JSON]] = {k: [] for k in (
        "assistants", "threads", "messages", "runs", "run_steps", "files",
        "vector_stores", "vector_store_files")}  # fmt: skip
    found["assistants"] = list(peer.pages("/assistants"))
    if thread_ids:
        for thread_id in thread_ids:
            answer = peer.get(f"/threads/{thread_id}")
            if answer.status_code != 200:
                raise PeerError(f"thread {thread_id}: {answer.status_code} {answer.text[:200]}")
            found["threads"].append(answer.json())
    else:
        listing = peer.get("/threads", limit=1)
        if listing.status_code != 200:
            raise PeerError(
                "the peer cannot list its threads (OpenAI's API has no such call): "
                "name them with --thread-id"
            )
        found["threads"] = list(peer.pages("/threads"))
    for thread in found["threads"]:
        found["messages"] += peer.pages(f"/threads/{thread['id']}/messages")
        for run in peer.pages(f"/threads/{thread['id']}/runs"):
            found["runs"].append(run)
            steps = f"/threads/{thread['id']}/runs/{run['id']}/steps"
            found["run_steps"] += peer.pages(steps, **{"include[]": _INCLUDE})
    (out / "blobs").mkdir(parents=True, exist_ok=True)
    for f in peer.pages("/files"):
        answer = peer.get(f"/files/{f['id']}/content")
        if answer.status_code == 200:  # a File whose bytes the peer no longer has is left out
            (out / "blobs" / f["id"]).write_bytes(answer.content)
            found["files"].append(f)
    for store in peer.pages("/vector_stores"):
        found["vector_stores"].append(store)
        found["vector_store_files"] += peer.pages(f"/vector_stores/{store['id']}/files")
    return found


_KINDS = {
    "assistants": IdKind.assistant,
    "threads": IdKind.thread,
    "messages": IdKind.message,
    "runs": IdKind.run,
    "run_steps": IdKind.run_step,
    "files": IdKind.file,
    "vector_stores": IdKind.vector_store,
}
_WAITING = ("queued", "in_progress", "cancelling")


def _rows(found: dict[str, list[JSON]], project: str) -> dict[str, list[JSON]]:
    """The peer's objects as rows of this server's tables."""

    def base(doc: JSON) -> JSON:
        return {"id": doc["id"], "project": project, "created_at": doc.get("created_at") or 0,
                "doc": orjson.dumps(doc).decode()}  # fmt: skip

    rows: dict[str, list[JSON]] = {
        "assistants": [{**base(d), "reasoning_effort": None} for d in found["assistants"]],
        "threads": [{**base(d), "listed": 1} for d in found["threads"]],
        "messages": [
            {**base(d), "thread_id": d["thread_id"], "run_id": d.get("run_id")}
            for d in found["messages"]
        ],
        "runs": [],
        "run_steps": [
            {
                "run_id": d["run_id"],
                "id": d["id"],
                "project": project,
                "thread_id": d["thread_id"],
                "doc": orjson.dumps(d).decode(),
            }  # fmt: skip
            for d in found["run_steps"]
        ],
        "files": [
            {
                **base(d),
                "purpose": d.get("purpose") or "assistants",
                "bytes": d.get("bytes") or 0,
                "expires_at": d.get("expires_at"),
            }  # fmt: skip
            for d in found["files"]
        ],
        "vector_stores": [
            {**base(d), "expires_at": d.get("expires_at"), "generation": 0}
            for d in found["vector_stores"]
        ],
        "vector_store_files": [],
    }
    private = orjson.dumps(
        new_private(additional_instructions=None, reasoning_effort=None, include=())
    ).decode()
    for d in found["runs"]:
        # A run the peer was executing cannot go on here: it is failed, as a crash is.
        status = d["status"]
        rows["runs"].append(
            {
                **base(d),
                "thread_id": d["thread_id"],
                "status": status,
                "expires_at": d.get("expires_at"),
                "worker": "imported" if status in _WAITING else None,
                "heartbeat_at": 0,
                "private": private,
            }  # fmt: skip
        )
    names = {f["id"]: f.get("filename") or f["id"] for f in found["files"]}
    for d in found["vector_store_files"]:
        doc = {**d, "status": "in_progress", "last_error": None}
        rows["vector_store_files"].append(
            {
                "vector_store_id": d["vector_store_id"],
                "id": d["id"],
                "project": project,
                "status": "in_progress",
                "batch_id": None,
                "usage_bytes": 0,
                "filename": names.get(d["id"], d["id"]),
                "worker": None,
                "heartbeat_at": None,
                "parsed": None,
                "doc": orjson.dumps(doc).decode(),
            }  # fmt: skip
        )
    for d in rows["vector_stores"]:
        doc = orjson.loads(d["doc"])
        counts = doc.get("file_counts") or {}
        total = int(counts.get("total") or 0)
        doc["file_counts"] = {"in_progress": total, "completed": 0, "failed": 0,
                              "cancelled": 0, "total": total}  # fmt: skip
        doc["status"] = "in_progress" if total else "completed"
        d["doc"] = orjson.dumps(doc).decode()
    return rows


def walk_peer(
    base_url: str,
    api_key: str,
    out: Path,
    *,
    project: str,
    thread_ids: list[str],
    page_size: int = 100,
) -> dict[str, str]:
    """Walk the peer into a new archive directory `out`; returns the id mapping."""
    out.mkdir(parents=True)
    peer = _Peer(base_url, api_key, page_size)
    try:
        found = _walk(peer, thread_ids, out)
    finally:
        peer.http.close()
    ids = _Ids()
    for table, kind in _KINDS.items():
        for obj in found[table]:
            ids.see(kind, obj)
    found = {table: [ids.rewrite(o) for o in objs] for table, objs in found.items()}
    for old, new in ids.mapping.items():
        if (out / "blobs" / old).exists():
            (out / "blobs" / old).rename(out / "blobs" / new)
    rows = _rows(found, project)
    (out / "tables").mkdir()
    tables: dict[str, FileEntry] = {}
    for table, entries in rows.items():
        path = out / "tables" / f"{table}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in entries))
        tables[table] = {"rows": len(entries), "sha256": sha256_of(path)}
    (out / "chunks.jsonl").write_bytes(b"")
    blobs = {
        f["id"]: {
            "bytes": (out / "blobs" / f["id"]).stat().st_size,
            "sha256": sha256_of(out / "blobs" / f["id"]),
        }  # fmt: skip
        for f in found["files"]
    }
    manifest: Manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "source_version": f"{base_url} via assistantd {__version__}",
        "created_at": clock.now(),
        "backend": "api",
        "project": project,
        "embedding": FROM_API,
        "tables": tables,
        "chunks": {"rows": 0, "sha256": sha256_of(out / "chunks.jsonl")},
        "blobs": blobs,  # type: ignore[typeddict-item]
        "gone": [],
    }
    (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return ids.mapping
