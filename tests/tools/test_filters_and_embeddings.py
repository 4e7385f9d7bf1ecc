"""Attribute filters (every operator) and the embedder's handling of long chunks."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from assistantd.protocol.vector_stores import SearchRequest
from assistantd.retrieval.embeddings import MiniLMEmbedder
from assistantd.services.search import matches, rewrite

ATTRS: dict[str, Any] = {"year": 2021, "topic": "nature", "draft": False}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"type": "eq", "key": "topic", "value": "nature"}, True),
        ({"type": "eq", "key": "topic", "value": "finance"}, False),
        ({"type": "ne", "key": "topic", "value": "finance"}, True),
        ({"type": "ne", "key": "missing", "value": "x"}, True),
        ({"type": "gt", "key": "year", "value": 2020}, True),
        ({"type": "gt", "key": "year", "value": 2021}, False),
        ({"type": "gte", "key": "year", "value": 2021}, True),
        ({"type": "lt", "key": "year", "value": 2021}, False),
        ({"type": "lte", "key": "year", "value": 2021}, True),
        ({"type": "lt", "key": "topic", "value": 5}, False),  # types differ: no match
        ({"type": "in", "key": "topic", "value": ["nature", "art"]}, True),
        ({"type": "nin", "key": "topic", "value": ["nature", "art"]}, False),
        ({"type": "eq", "key": "draft", "value": False}, True),
        ({"type": "eq", "key": "draft", "value": 0}, False),  # a boolean is not a number
        (
            {
                "type": "and",
                "filters": [
                    {"type": "eq", "key": "topic", "value": "nature"},
                    {"type": "or", "filters": [
                        {"type": "lt", "key": "year", "value": 2000},
                        {"type": "eq", "key": "draft", "value": False},
                    ]},
                ],
            },
            True,
        ),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "topic", "value": "x"},
                    {"type": "gt", "key": "year", "value": 3000},
                ],
            },
            False,
        ),
    ],
)  # fmt: skip
def test_filter_operators(flt: dict[str, Any], expected: bool) -> None:
    request = SearchRequest.model_validate({"query": "q", "filters": flt})
    assert request.filters is not None
    assert matches(request.filters, ATTRS) is expected


def test_rewrite_keeps_content_words() -> None:
    assert rewrite("I'd like to know the height of the main office building.") == (
        "d height main office building"
    )


def test_long_chunk_vector_reflects_its_tail() -> None:
    """A chunk longer than the model's window is embedded whole, not cut to its head."""
    embedder = MiniLMEmbedder()
    head = "Quarterly accounting ledgers and tax forms. " * 40  # > 256 word pieces
    tail = "Penguins waddle across Antarctic ice to reach the sea."
    vectors = asyncio.run(embedder.embed([head, head + tail, tail]))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # the tail moves the long chunk towards it
    assert float(vectors[1] @ vectors[2]) > float(vectors[0] @ vectors[2]) + 0.02
