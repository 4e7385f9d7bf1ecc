"""The file_search tool: the model's query → hybrid search of the assistant's and the
thread's vector stores → a `file_search` step entry and a cited text for the model.

Its state in a run: the results the model was shown, by marker key (`sources`), and
which search a bare `【i】` means (`latest`); its AnswerEditor turns the model's markers
into `file_citation` annotations (citations.py). The search itself is whatever
implements `Searcher` (services/search.py in the server)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypedDict

from pydantic import TypeAdapter

from assistantd.protocol.objects import RunDoc
from assistantd.protocol.runs import INCLUDABLE
from assistantd.protocol.vector_stores import MAX_QUERY_CHARS, Filter
from assistantd.providers.base import GRAMMAR_MAX_LENGTH
from assistantd.tools.base import JSON, BaseServerTool, ToolOutcome, ToolRequest
from assistantd.tools.file_search.citations import CitationStream, Source, marker

__all__ = ["FileSearch", "Hit", "Searcher", "StoresFor"]

DEFAULT_MAX_RESULTS = 20  # OpenAI's default for gpt-4* and o-series
# A Response's file_search may carry attribute filters (checked when it was created).
_FILTER: TypeAdapter[Filter] = TypeAdapter(Filter)
RANKER = "default_2024_08_21"  # what OpenAI echoed for `auto`


class StoresFor(Protocol):
    async def __call__(self, project: str, run: RunDoc) -> list[str]:
        """The ids of the run's stores; raises ToolFailed for an expired one."""
        ...

    async def wait_for_thread_store(self, project: str, run: RunDoc) -> None:
        """Return once the thread's store has nothing in progress (or after a while)."""
        ...


class Hit(Protocol):
    """One search result, as the tool reads it."""

    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any]


class Searcher(Protocol):
    async def search(
        self,
        project: str,
        store_ids: Sequence[str],
        queries: Sequence[str],
        *,
        limit: int,
        threshold: float,
        flt: Filter | None = None,
    ) -> Sequence[Hit]:
        """The best chunks of the stores for the queries, best first; only of files whose
        attributes `flt` accepts, if given."""
        ...


class FileSearchState(TypedDict):
    sources: dict[str, dict[str, str]]  # marker key "k:i" → file_id, filename
    latest: int  # the search a bare 【i】 refers to


def _state(state: Mapping[str, Any]) -> FileSearchState:
    return {"sources": dict(state.get("sources") or {}), "latest": int(state.get("latest") or 0)}


class FileSearch(BaseServerTool):
    type = "file_search"

    def __init__(self, searcher: Searcher, stores_for: StoresFor, budget_chars: int) -> None:
        self.searcher = searcher
        self.stores_for = stores_for
        self.budget_chars = budget_chars

    def definition(self, run: RunDoc, state: JSON) -> JSON:
        return {
            "type": "function",
            "function": {
                "name": "file_search",
                "description": "Search the files the user uploaded. Use it to answer any "
                "question about their content, then cite the results you use.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "query": {
                            "type": "string",
                            "description": "What to look for, in a few words.",
                            # The embedded model's bound; upstreams never see it.
                            GRAMMAR_MAX_LENGTH: 200,
                        }
                    },
                    "required": ["query"],
                },
            },
        }

    async def prepare(self, project: str, run: RunDoc, state: JSON) -> JSON:
        await self.stores_for(project, run)  # raises ToolFailed for an expired store
        await self.stores_for.wait_for_thread_store(project, run)
        return state

    # A search shows its query nowhere while it streams, and its results only in the
    # completed step, as on OpenAI: input_so_far and result_delta keep the defaults.

    def shown(self, entry: JSON, include: Sequence[str]) -> JSON:
        """Results without their `content` unless the run asked for it (`include[]`)."""
        if INCLUDABLE & set(include):
            return entry
        results = [
            {k: v for k, v in r.items() if k != "content"} for r in entry["file_search"]["results"]
        ]
        return {**entry, "file_search": {**entry["file_search"], "results": results}}

    def editor(self, state: JSON) -> CitationStream | None:
        known = _state(state)
        if not known["sources"]:
            return None
        sources = {
            key: Source(key, s["file_id"], s["filename"]) for key, s in known["sources"].items()
        }
        return CitationStream(sources, latest=known["latest"])

    def restore(self, flat: Mapping[str, Any]) -> JSON:
        """Rows from before typed run state kept `sources` and `latest` at the top."""
        return dict(_state(flat)) if flat.get("sources") else {}

    def _ranking(self, run: RunDoc) -> JSON:
        ranking = self.options(run).get("ranking_options") or {}
        return {"ranker": RANKER, "score_threshold": float(ranking.get("score_threshold", 0.0))}

    def first_entry(self, run: RunDoc, call_id: str) -> JSON:
        return {
            "id": call_id,
            "type": "file_search",
            "file_search": {"ranking_options": self._ranking(run), "results": []},
        }

    async def call(self, request: ToolRequest) -> ToolOutcome:
        run = request.run
        try:
            query = str(json.loads(request.arguments or "{}").get("query") or "").strip()
        except (ValueError, AttributeError):
            query = ""
        if not query:
            query = request.arguments.strip() or "summary"
        query = query[:MAX_QUERY_CHARS]  # a model may write anything into its arguments
        store_ids = await self.stores_for(request.project, run)
        options = self.options(run)
        ranking = self._ranking(run)
        results = await self.searcher.search(
            request.project,
            store_ids,
            [query],
            limit=int(options.get("max_num_results") or DEFAULT_MAX_RESULTS),
            threshold=ranking["score_threshold"],
            flt=_FILTER.validate_python(options["filters"]) if options.get("filters") else None,
        )
        k = request.round
        sources = _state(request.state)["sources"]
        lines = [
            f'Results of the file search for "{query}". Cite what you use by copying its '
            "marker, e.g. " + (marker(f"{k}:0", results[0].filename) if results else "【0:0†file】")
        ]
        used = len(lines[0])
        for i, r in enumerate(results):
            key = f"{k}:{i}"
            block = f"\n\n{marker(key, r.filename)}\n{r.text}"
            if i and used + len(block) > self.budget_chars:
                break  # the model is shown (and may cite) only what fits
            if not i:
                block = block[: max(len(marker(key, r.filename)) + 2, self.budget_chars - used)]
            sources[key] = {"file_id": r.file_id, "filename": r.filename}
            lines.append(block)
            used += len(block)
        if not results:
            lines.append("\n\nNo results: the files hold nothing that matches.")
        entry = self.first_entry(run, request.call_id)
        entry["file_search"]["results"] = [
            {
                "file_id": r.file_id,
                "file_name": r.filename,
                "score": round(r.score, 6),
                "attributes": r.attributes,
                "content": [{"type": "text", "text": r.text}],
            }
            for r in results
        ]
        state: FileSearchState = {"sources": sources, "latest": k}
        return ToolOutcome(entry=entry, output="".join(lines), state=dict(state))
