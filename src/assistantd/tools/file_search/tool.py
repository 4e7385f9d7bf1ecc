"""The file_search tool: the model's query → hybrid search of the assistant's and the
thread's vector stores → a `file_search` step entry and a cited text for the model."""

from __future__ import annotations

import json
from typing import Any, Protocol

from assistantd.protocol.vector_stores import MAX_QUERY_CHARS
from assistantd.providers.base import GRAMMAR_MAX_LENGTH
from assistantd.services.search import SearchService
from assistantd.tools.base import ToolOutcome, ToolRequest
from assistantd.tools.file_search.citations import marker

__all__ = ["FileSearchTool"]

DEFAULT_MAX_RESULTS = 20  # OpenAI's default for gpt-4* and o-series
RANKER = "default_2024_08_21"  # what OpenAI echoed for `auto`


class StoresFor(Protocol):
    async def __call__(self, project: str, run: dict[str, Any]) -> list[str]:
        """The ids of the run's stores; raises ToolFailed for an expired one."""
        ...

    async def wait_for_thread_store(self, project: str, run: dict[str, Any]) -> None:
        """Return once the thread's store has nothing in progress (or after a while)."""
        ...


def _options(run: dict[str, Any]) -> dict[str, Any]:
    for tool in run["tools"]:
        if tool["type"] == "file_search":
            options: dict[str, Any] = tool.get("file_search") or {}
            return options
    return {}


class FileSearchTool:
    type = "file_search"

    def __init__(self, search: SearchService, stores_for: StoresFor, budget_chars: int) -> None:
        self.search = search
        self.stores_for = stores_for
        self.budget_chars = budget_chars

    def definition(self, run: dict[str, Any], private: dict[str, Any]) -> dict[str, Any]:
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

    async def check(self, project: str, run: dict[str, Any]) -> dict[str, Any] | None:
        await self.stores_for(project, run)  # raises ToolFailed for an expired store
        await self.stores_for.wait_for_thread_store(project, run)
        return None

    def input_so_far(self, arguments: str) -> str | None:
        return None  # a search shows its query nowhere, as on OpenAI

    def result_delta(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        return None

    async def annotate(self, project: str, run: dict[str, Any], text: str) -> list[dict[str, Any]]:
        return []  # citations are placed while the answer streams (CitationStream)

    def _ranking(self, run: dict[str, Any]) -> dict[str, Any]:
        ranking = _options(run).get("ranking_options") or {}
        return {"ranker": RANKER, "score_threshold": float(ranking.get("score_threshold", 0.0))}

    def first_entry(self, run: dict[str, Any], call_id: str) -> dict[str, Any]:
        return {
            "id": call_id,
            "type": "file_search",
            "file_search": {"ranking_options": self._ranking(run), "results": []},
        }

    async def run(self, request: ToolRequest) -> ToolOutcome:
        run = request.run
        try:
            query = str(json.loads(request.arguments or "{}").get("query") or "").strip()
        except (ValueError, AttributeError):
            query = ""
        if not query:
            query = request.arguments.strip() or "summary"
        query = query[:MAX_QUERY_CHARS]  # a model may write anything into its arguments
        store_ids = await self.stores_for(request.project, run)
        options = _options(run)
        ranking = self._ranking(run)
        results = await self.search.search(
            request.project,
            store_ids,
            [query],
            limit=int(options.get("max_num_results") or DEFAULT_MAX_RESULTS),
            threshold=ranking["score_threshold"],
        )
        k = request.round
        sources = dict(request.private.get("sources") or {})
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
        return ToolOutcome(
            entry=entry, output="".join(lines), private={"sources": sources, "latest": k}
        )
