"""A toy third server tool, the example docs/tools.md walks through: it adds integers.

It touches no engine file: it implements the hooks it needs (BaseServerTool answers the
rest), and a container built with `tools=[Calculator()]` offers it to any run whose
`tools` name it. The shared conformance test (test_tool_contract.py) runs it beside
file_search and code_interpreter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from assistantd.protocol.objects import RunDoc
from assistantd.tools.base import JSON, BaseServerTool, ToolOutcome, ToolRequest

# The expression so far in a call's arguments, while the model is writing them.
_PARTIAL = re.compile(r'"expression"\s*:\s*"([0-9+ ]*)')


class Calculator(BaseServerTool):
    type = "calculator"

    def definition(self, run: RunDoc, state: JSON) -> JSON:
        done = len(state.get("results") or [])
        return {
            "type": "function",
            "function": {
                "name": "calculator",
                "description": f"Add integers, e.g. '2 + 40'. ({done} sums done so far.)",
                "parameters": {
                    "type": "object",
                    "properties": {"expression": {"type": "string"}},
                    "required": ["expression"],
                },
            },
        }

    def first_entry(self, run: RunDoc, call_id: str) -> JSON:
        return {"id": call_id, "type": "calculator", "calculator": {"input": "", "output": None}}

    def input_so_far(self, arguments: str) -> str | None:
        found = _PARTIAL.search(arguments)
        return found.group(1) if found else ""

    async def call(self, request: ToolRequest) -> ToolOutcome:
        try:
            expression = str(json.loads(request.arguments)["expression"])
            total = str(sum(int(term) for term in expression.split("+")))
        except (ValueError, KeyError, TypeError):
            expression, total = request.arguments, "not a sum of integers"
        entry = self.first_entry(request.run, request.call_id)
        entry["calculator"] = {"input": expression, "output": total}
        results = [*(request.state.get("results") or []), total]
        return ToolOutcome(entry=entry, output=total, state={"results": results})

    def result_delta(self, entry: JSON) -> JSON | None:
        return {"type": "calculator", "calculator": {"output": entry["calculator"]["output"]}}

    def restore(self, flat: Mapping[str, Any]) -> JSON:
        return {}  # new: no rows from before typed run state hold its keys
