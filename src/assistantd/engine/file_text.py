"""The text of a File, for a Response's `input_file` part: parsed by the bounded parse
workers ingestion uses (engine/parse_pool.py), never in the API process, and with the
same limits (memory, CPU, wall clock, tokens) a File added to a vector store gets."""

from __future__ import annotations

import orjson

from assistantd.engine.parse_pool import ParseJob, ParsePool
from assistantd.errors import InvalidRequest, NotFound
from assistantd.retrieval.chunking import AUTO
from assistantd.retrieval.parsing import ParseError
from assistantd.services.files import FileService, blob_key
from assistantd.store.blobs import BlobStore

__all__ = ["FileText"]


class FileText:
    def __init__(self, files: FileService, blobs: BlobStore, parser: ParsePool) -> None:
        self.files = files
        self.blobs = blobs
        self.parser = parser

    async def __call__(self, project: str, file_id: str, param: str) -> tuple[str, str]:
        """(the File's name, its text); a 400 naming `param` for an unknown File or one
        that cannot be read as text."""
        try:
            doc = orjson.loads(await self.files.get(project, file_id))
        except NotFound:
            raise InvalidRequest(
                f"No file found with id '{file_id}'.", param=param, code="file_not_found"
            ) from None
        filename = str(doc["filename"])
        job = ParseJob(
            path=str(self.blobs.path(blob_key(file_id))),
            filename=filename,
            chunk_tokens=AUTO[0],  # (its chunks go unused: only the pages are read)
            overlap_tokens=AUTO[1],
        )
        try:
            prepared = await self.parser.prepare(job)
        except ParseError as error:
            raise InvalidRequest(
                f"Invalid '{param}': {error.message}", param=param, code=error.code
            ) from None
        return filename, "\n\n".join(prepared.pages)
