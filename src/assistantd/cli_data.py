"""`assistantd export`, `import` and `backup`: wiring for store/archive (docs/data.md)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from assistantd.cli import with_db
from assistantd.retrieval.embeddings import embedding_model
from assistantd.settings import Settings
from assistantd.store.archive import ArchiveError, export_archive, import_archive
from assistantd.store.blobs import LocalDirBlobStore
from assistantd.store.chunks import open_chunk_index
from assistantd.store.db import Database

__all__ = ["add_data_commands"]

_BACKUP_PREFIX = "assistantd-"
_BACKUP_SUFFIX = ".tar.gz"


def _model(settings: Settings) -> tuple[str, int]:
    return embedding_model(
        settings.embeddings_base_url, settings.embeddings_model, settings.embeddings_dimensions
    )


def _export(settings: Settings, target: Path, project: str | None) -> dict[str, Any]:
    async def run(db: Database) -> dict[str, Any]:
        name, _ = _model(settings)
        blobs = LocalDirBlobStore(settings.resolved_blob_dir())
        manifest = await export_archive(db, blobs, target, project=project, embedding=name)
        return dict(manifest)

    return with_db(settings, run)


def _summary(manifest: dict[str, Any]) -> str:
    rows = sum(t["rows"] for t in manifest["tables"].values())
    return f"{rows:,} rows, {manifest['chunks']['rows']:,} chunks, {len(manifest['blobs']):,} files"


def _do_export(settings: Settings, args: argparse.Namespace) -> int:
    if args.path.exists():
        print(f"error: {args.path} already exists", file=sys.stderr)
        return 2
    manifest = _export(settings, args.path, args.project)
    print(f"exported {_summary(manifest)} to {args.path}")
    return 0


def _from_api(settings: Settings, args: argparse.Namespace, scratch: Path) -> Path:
    """Walk the peer into an archive in `scratch`; the id mapping is written beside."""
    from assistantd.services.peer_import import walk_peer

    key = args.api_key or os.environ.get("ASSISTANTD_PEER_API_KEY") or ""
    archive = scratch / "peer"
    mapping = walk_peer(
        args.from_api,
        key,
        archive,
        project=args.project,
        thread_ids=args.thread_id or [],
        page_size=args.page_size,
    )
    target = args.mapping or settings.data_dir / f"import-mapping-{int(time.time())}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(orjson.dumps(mapping, option=orjson.OPT_INDENT_2))
    if mapping:
        print(f"{len(mapping):,} ids were not in assistantd's form: new ones in {target}")
    return archive


def _do_import(settings: Settings, args: argparse.Namespace) -> int:
    if (args.path is None) == (args.from_api is None):
        print("error: give an archive, or --from-api BASE_URL", file=sys.stderr)
        return 2
    if args.from_api is not None:
        from assistantd.services.peer_import import PeerError

        with tempfile.TemporaryDirectory(prefix="assistantd-peer-") as scratch:
            try:
                args.path = _from_api(settings, args, Path(scratch))
            except PeerError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            return _load(settings, args)
    return _load(settings, args)


def _load(settings: Settings, args: argparse.Namespace) -> int:
    async def run(db: Database) -> str:
        name, dimensions = _model(settings)
        index = open_chunk_index(db.dialect, dimensions, settings.vector_cache_bytes)
        blobs = LocalDirBlobStore(settings.resolved_blob_dir())
        report = await import_archive(db, blobs, args.path, index=index, embedding=name)
        rows = sum(report.rows.values())
        again = "; its files will be embedded again here" if report.reembedded else ""
        return f"imported {rows:,} rows, {report.chunks:,} chunks, {report.blobs:,} files{again}"

    try:
        # NORMAL, not FULL, on SQLite: an import cut short by a power loss is simply
        # run again (it is idempotent), so it need not pay a sync per transaction.
        print(with_db(settings, run, pool_size=2, sqlite_synchronous="NORMAL"))
    except ArchiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _do_backup(settings: Settings, args: argparse.Namespace) -> int:
    """An export named by the time, and the oldest beyond `--keep` removed."""
    folder: Path = args.dir
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time_ns()
    # Sortable by name, to the microsecond: two backups in one second do not collide.
    stamp = (
        time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9)) + f".{now // 1000 % 10**6:06d}Z"
    )
    target = folder / f"{_BACKUP_PREFIX}{stamp}{_BACKUP_SUFFIX}"
    manifest = _export(settings, target, args.project)
    kept = sorted(
        p for p in folder.iterdir()
        if p.name.startswith(_BACKUP_PREFIX) and p.name.endswith(_BACKUP_SUFFIX)
    )  # fmt: skip
    for old in kept[: max(0, len(kept) - args.keep)]:
        old.unlink()
    print(f"backed up {_summary(manifest)} to {target}")
    return 0


def add_data_commands(
    commands: Any,
    add_db_options: Callable[[argparse.ArgumentParser], None],
    settings_of: Callable[[argparse.Namespace], Settings],
) -> None:
    def handler(work: Callable[[Settings, argparse.Namespace], int]) -> Callable[..., int]:
        return lambda args: work(settings_of(args), args)

    export = commands.add_parser(
        "export", help="write a consistent archive of the data (a directory, .tar.gz, .tar.zst)"
    )
    export.add_argument("path", type=Path, help="where: a new directory, or NAME.tar.gz/.tar.zst")
    export.add_argument("--project", help="only this project's data")
    add_db_options(export)
    export.set_defaults(handler=handler(_do_export))

    load = commands.add_parser(
        "import", help="load an archive (again, if cut short), or another server's data"
    )
    load.add_argument(
        "path", type=Path, nargs="?", help="the archive: a directory, .tar.gz or .tar.zst"
    )
    load.add_argument("--from-api", metavar="BASE_URL", help="walk this server's API instead")
    load.add_argument("--api-key", help="its API key (or ASSISTANTD_PEER_API_KEY)")
    load.add_argument(
        "--thread-id", action="append", help="a thread to take (a peer that cannot list them)"
    )
    load.add_argument("--project", default="default", help="the project it arrives in")
    load.add_argument("--mapping", type=Path, help="where to write the old → new id mapping")
    load.add_argument("--page-size", type=int, default=100, help="objects per list page (100)")
    add_db_options(load)
    load.set_defaults(handler=handler(_do_import))

    backup = commands.add_parser("backup", help="an export into DIR, keeping the newest N")
    backup.add_argument("dir", type=Path, help="the folder backups are kept in")
    backup.add_argument("--keep", type=int, default=7, help="how many to keep (7)")
    backup.add_argument("--project", help="only this project's data")
    add_db_options(backup)
    backup.set_defaults(handler=handler(_do_backup))
