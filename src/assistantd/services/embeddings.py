"""POST /v1/embeddings: texts → vectors from the server's embedder, the one its vector
stores use (the bundled MiniLM, or the configured upstream).

The embedder takes turns between projects (retrieval/lanes.py): these requests wait in
the bulk lane, behind searches, and a project with too many waiting gets a 429 rather
than a longer queue. Token arrays are refused: they are ids of OpenAI's tokenizer, which
this server does not have.
"""

from __future__ import annotations

import base64

import numpy as np
import orjson

from assistantd.errors import InvalidRequest, ModelFailed, RateLimited
from assistantd.protocol.chat import EMBEDDING_MAX_INPUTS, EmbeddingCreate
from assistantd.retrieval.embeddings import Embedder, EmbeddingError
from assistantd.retrieval.lanes import LaneFull

__all__ = ["EmbeddingService"]

# OpenAI's per-input bound, in characters (its 8,192 tokens, at about 4 characters each).
_MAX_INPUT_CHARS = 8192 * 4


def _texts(req: EmbeddingCreate) -> list[str]:
    raw = req.input
    texts = [raw] if isinstance(raw, str) else raw
    if not texts:
        raise InvalidRequest("'input' cannot be an empty array.", param="input")
    if not all(isinstance(t, str) for t in texts):
        raise InvalidRequest(
            "Token arrays are not supported by this server: send the text.",
            param="input",
            code="unsupported_parameter",
        )
    strings = [str(t) for t in texts]
    if len(strings) > EMBEDDING_MAX_INPUTS:
        raise InvalidRequest(
            f"'input' has {len(strings)} items; at most {EMBEDDING_MAX_INPUTS} are allowed.",
            param="input",
        )
    for i, text in enumerate(strings):
        if not text:
            raise InvalidRequest(f"'input[{i}]' cannot be an empty string.", param="input")
        if len(text) > _MAX_INPUT_CHARS:
            raise InvalidRequest(
                f"'input[{i}]' is too long: at most {_MAX_INPUT_CHARS} characters.",
                param="input",
            )
    return strings


class EmbeddingService:
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    async def create(self, project: str, req: EmbeddingCreate) -> bytes:
        texts = _texts(req)
        if req.dimensions is not None and req.dimensions != self.embedder.dimensions:
            raise InvalidRequest(
                f"This server's embedding model has {self.embedder.dimensions} dimensions "
                f"and cannot shorten them; 'dimensions' must be {self.embedder.dimensions} "
                "or unset.",
                param="dimensions",
            )
        try:
            vectors = await self.embedder.embed(texts, project=project, lane="bulk")
        except LaneFull:
            raise RateLimited(
                "Too many of this project's texts are waiting for the embedding model; "
                "retry shortly.",
                kind="requests",
                headers={"retry-after": "1", "retry-after-ms": "1000"},
            ) from None
        except EmbeddingError as error:  # the configured upstream failed
            raise ModelFailed(f"The embedding model failed: {error}") from None
        data = []
        for i, vector in enumerate(np.asarray(vectors, dtype="<f4")):
            if req.encoding_format == "base64":
                embedding: object = base64.b64encode(vector.tobytes()).decode()
            else:
                embedding = vector.tolist()
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        tokens = sum(max(1, len(t) // 4) for t in texts)  # an estimate, as runs estimate
        return orjson.dumps(
            {
                "object": "list",
                "data": data,
                "model": self.embedder.name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )
