"""Write model-endpoints.json: the official spec's blocks for POST /chat/completions,
POST /embeddings and the Responses operations (their paths, and every schema they
reference, transitively),
copied from the full spec with `nullable: true` rewritten in 3.1 form
(openai/openai-openapi `openapi.yaml`, commit
f85dbe22, the one the Assistants subset beside this file was cut from).

    python -m tests.contract.spec.extract_model_endpoints /path/to/openapi.yaml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

PATHS = {
    "/chat/completions": ("post",),
    "/embeddings": ("post",),
    "/responses": ("post",),
    "/responses/{response_id}": ("get", "delete"),
    "/responses/{response_id}/cancel": ("post",),
    "/responses/{response_id}/input_items": ("get",),
    "/responses/input_tokens": ("post",),
    "/conversations": ("post",),
    "/conversations/{conversation_id}": ("get", "post", "delete"),
    "/conversations/{conversation_id}/items": ("get", "post"),
    "/conversations/{conversation_id}/items/{item_id}": ("get", "delete"),
}
# Streamed chunks and events are not a response of the operation: named here to be kept.
SEEDS = ("CreateChatCompletionStreamResponse", "ResponseStreamEvent", "Error", "ErrorResponse")


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            out.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def _nullable_31(node: Any) -> Any:
    """OAS 3.0's `nullable: true` in 3.1 form (JSON Schema ignores the keyword), as the
    Assistants subset's derived copy does."""
    if isinstance(node, list):
        return [_nullable_31(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable_31(v) for k, v in node.items()}
    if node.pop("nullable", False) is not True:
        return node
    if isinstance(node.get("type"), str) and "$ref" not in node:
        node["type"] = [node["type"], "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
        return node
    return {"anyOf": [node, {"type": "null"}]}


def main(source: str) -> None:
    full = yaml.safe_load(Path(source).read_text())
    schemas = full["components"]["schemas"]
    paths = {
        p: {m: op for m, op in full["paths"][p].items() if m in methods}
        for p, methods in PATHS.items()
    }
    for ops in paths.values():
        for op in ops.values():
            op.pop("x-oaiMeta", None)  # examples: large, and not needed to validate
    wanted: set[str] = set(SEEDS)
    _refs(paths, wanted)
    done: set[str] = set()
    while wanted - done:
        name = sorted(wanted - done)[0]
        done.add(name)
        _refs(schemas[name], wanted)
    subset = {
        "openapi": full["openapi"],
        "info": {
            "title": "OpenAI API: chat completions, embeddings, responses and conversations",
            "version": full["info"]["version"],
        },
        "paths": paths,
        "components": {"schemas": {n: _nullable_31(schemas[n]) for n in sorted(done)}},
    }
    out = Path(__file__).parent / "model-endpoints.json"
    out.write_text(json.dumps(subset, indent=1, sort_keys=False) + "\n")
    print(f"wrote {out}: {len(done)} schemas")  # noqa: T201 - a command


if __name__ == "__main__":
    main(sys.argv[1])
