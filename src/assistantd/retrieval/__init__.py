"""The retrieval library: parsing files to text, chunking it, embedding chunks and
queries, and the fair lanes that share the embedder between projects.

It knows nothing of HTTP, the store or runs: `services/` (vector stores, search),
`engine/ingestion.py` and the file_search tool build on it (docs/retrieval.md).
"""
