"""Archives of a server's data: `assistantd export`, `import` and `backup` (docs/data.md).

An archive is a directory (or the same packed as `.tar.gz` / `.tar.zst`):
- `manifest.json`: format and version, what wrote it, counts and sha256 of each file;
- `tables/<table>.jsonl`: every row of every table as stored (the API's documents and
  what the API does not show: projects, hashed keys, limits, runs' private state);
- `chunks.jsonl`: vector-store chunks with their embeddings, so nothing is re-embedded;
- `blobs/<file id>`: the bytes of every File (code_interpreter's outputs included).
"""

from assistantd.store.archive.export import export_archive
from assistantd.store.archive.load import ArchiveError, import_archive

__all__ = ["ArchiveError", "export_archive", "import_archive"]
