"""Retrieval quality of file_search: keyword-only, vector-only and hybrid, on real documents.

Corpus: Debian's manual pages (`/usr/share/man/man1/*.1.gz`, shipped with the OS). Each
page's NAME line ("ls - list directory contents") is held out as the query and removed
from the document, which is the rest of the page (first 4,000 characters, troff markup
stripped). A query is answered when its own page is among the first k distinct files.
Everything runs through the real pipeline: attach, ingest (parse, chunk, embed), search.

Reproduce: make dev && .venv/bin/python -m bench.retrieval_quality --pages 300
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import re
import tempfile
import time
from pathlib import Path

import orjson

from assistantd.container import Container
from assistantd.protocol.vector_stores import VectorStoreCreate
from assistantd.services.search import Mode
from assistantd.settings import Settings
from assistantd.store.migrate import upgrade
from bench.harness import machine

MAN = Path("/usr/share/man/man1")
PROJECT = "default"
_ESCAPES = re.compile(r"\\f[BIRP0-9]|\\f\(..|\\[(*]..|\\[-&e|^]|\\s[-+]?\d")


def _clean(line: str) -> str:
    line = _ESCAPES.sub("", line.replace("\\-", "-"))
    if line.startswith((".", "'")):
        parts = line.split(None, 1)
        if len(parts) == 1 or parts[0] in ('.\\"', ".TH", ".so", ".de", ".ds", ".nr"):
            return ""
        return parts[1].strip('"')
    return line


def page(path: Path) -> tuple[str, str] | None:
    """(held-out query, document) of a manual page, or None if it has no usable NAME."""
    try:
        raw = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
    except (OSError, EOFError):
        return None
    lines = [_clean(line) for line in raw.splitlines()]
    text = "\n".join(line for line in lines if line.strip())
    found = re.search(r"(?s)NAME\n([^\n]*?)\s+-{1,2}\s+([^\n]*)\n(.*)", text)
    if not found:
        return None
    summary, rest = found.group(2).strip(), found.group(3)
    if len(summary.split()) < 3 or len(rest) < 400:
        return None
    return summary, rest[:4000]


def corpus(pages: int) -> list[tuple[str, str, str]]:
    # The Google Cloud SDK ships thousands of near-identical pages: left out, so the
    # sample spans the whole system.
    names = sorted(p for p in MAN.glob("*.1.gz") if not p.name.startswith("gcloud"))
    usable = [(p.name.removesuffix(".1.gz"), page(p)) for p in names]
    kept = [(name, q_d[0], q_d[1]) for name, q_d in usable if q_d is not None]
    step = max(1, len(kept) // pages)
    return kept[::step][:pages]


async def run(pages: int) -> None:
    docs = corpus(pages)
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.db'}"
    await upgrade(url)
    c = Container.build(Settings(data_dir=tmp, database_url=url, embedded_warm_up=False))
    c.ingestor.start()
    try:
        store_id = orjson.loads(await c.vector_stores.create(PROJECT, VectorStoreCreate()))["id"]
        by_file: dict[str, str] = {}
        file_ids = []
        for name, _, text in docs:
            temp = c.blobs.temp()
            temp.write(text.encode())
            temp.finish()
            doc = await c.files.create(PROJECT, temp, filename=f"{name}.txt", purpose="assistants")
            file_id = orjson.loads(doc)["id"]
            by_file[name] = file_id
            file_ids.append(file_id)
        started = time.monotonic()
        await c.vector_store_files.create_batch(
            PROJECT,
            store_id,
            __import__("assistantd.protocol.vector_stores", fromlist=["x"]).FileBatchCreate(
                file_ids=file_ids
            ),
        )
        while orjson.loads(await c.vector_stores.get(PROJECT, store_id))["file_counts"][
            "in_progress"
        ]:
            await asyncio.sleep(0.5)
        ingest_s = time.monotonic() - started
        print(f"{len(docs)} pages ingested in {ingest_s:.1f} s")
        print("| mode | recall@1 | recall@5 | MRR@10 |")
        print("|---|---|---|---|")
        modes: tuple[Mode, ...] = ("keyword", "vector", "hybrid")
        for mode in modes:
            hits1 = hits5 = 0
            rr = 0.0
            for name, query, _ in docs:
                results = await c.search.search(PROJECT, [store_id], [query], limit=30, mode=mode)
                ranked = list(dict.fromkeys(r.file_id for r in results))[:10]
                if by_file[name] in ranked:
                    rank = ranked.index(by_file[name]) + 1
                    rr += 1 / rank
                    hits1 += rank == 1
                    hits5 += rank <= 5
            n = len(docs)
            print(f"| {mode} | {hits1 / n:.3f} | {hits5 / n:.3f} | {rr / n:.3f} |")
        # The first 10 results must not depend on max_num_results (they once did: the
        # candidates each half gave grew with the limit).
        differ = 0
        for _, query, _ in docs:
            short = await c.search.search(PROJECT, [store_id], [query], limit=10)
            long = await c.search.search(PROJECT, [store_id], [query], limit=50)
            differ += [r.chunk_id for r in short] != [r.chunk_id for r in long[:10]]
        print(f"\nqueries whose top 10 differ between limit 10 and limit 50: {differ} of {n}")
        print(f"\nmachine: {machine()}")
        print(f"reproduce: .venv/bin/python -m bench.retrieval_quality --pages {pages}")
    finally:
        await c.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=300)
    asyncio.run(run(parser.parse_args().pages))


if __name__ == "__main__":
    main()
