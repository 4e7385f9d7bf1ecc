"""Tables. Each object is stored as its rendered wire document plus the columns queries need.

Why documents: every read returns exactly the JSON that was written (no per-field
re-serialisation on the hot path, no drift between what GET and list return), while
the key columns (`project`, `thread_id`, `run_id`, ...) stay real, indexed columns
the database can filter and join on. A repository that changes a document writes the
whole document and any key column it mirrors in the same statement.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiKeyRow",
    "AssistantRow",
    "Base",
    "ConversationItemRow",
    "FileRow",
    "MessageRow",
    "ProjectLimitsRow",
    "ResponseRow",
    "RunRow",
    "RunStepRow",
    "ThreadRow",
    "UploadPartRow",
    "UploadRow",
    "VectorStoreFileBatchRow",
    "VectorStoreFileRow",
    "VectorStoreRow",
    "UNMAPPED_TABLES",
    "table_of",
]

# Chunks and their search indexes have a different shape per backend (an FTS5 table and
# float32 blobs on SQLite; tsvector and pgvector columns on PostgreSQL), so migration
# 0004 creates them (0008 SQLite's vs_chunks_bulk) and the vector index modules query
# them; the ORM does not map them.
UNMAPPED_TABLES = frozenset(
    {"vs_chunks", "vs_chunks_bulk", "vs_chunks_fts", "vs_chunks_fts_data", "vs_chunks_fts_idx",
     "vs_chunks_fts_docsize", "vs_chunks_fts_config", "vs_chunks_fts_content"}
)  # fmt: skip

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def IdColumn() -> String:
    """Ids compare byte-wise on every backend, so that keyset order is id order.

    PostgreSQL's default collation would sort `a` next to `A`; "C" does not.
    """
    return String(64).with_variant(String(64, collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(row: type[Base]) -> Table:
    """The Core table behind an ORM class: repositories query with Core for speed."""
    table = row.__table__
    assert isinstance(table, Table)
    return table


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(256))
    # sha256 of the secret: keys are 256-bit random, so a slow hash buys nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    redacted: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)


class ProjectLimitsRow(Base):
    """Per-project rate limits (`assistantd projects limits`); a project with no row has none."""

    __tablename__ = "project_limits"

    project: Mapped[str] = mapped_column(String(64), primary_key=True)
    requests_per_minute: Mapped[int | None] = mapped_column(BigInteger)
    tokens_per_minute: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class AssistantRow(Base):
    __tablename__ = "assistants"
    __table_args__ = (Index("ix_assistants_project_id", "project", "id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    # Accepted on create/update but not part of AssistantObject; runs will read it.
    reasoning_effort: Mapped[str | None] = mapped_column(String(16))
    doc: Mapped[str] = mapped_column(Text)


class ThreadRow(Base):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_project_id", "project", "id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[str] = mapped_column(Text)
    # 0 for a Response's own thread: it holds that response's run, and is not one of
    # the project's threads `GET /v1/threads` lists.
    listed: Mapped[int] = mapped_column(Integer, server_default="1")


class MessageRow(Base):
    """Keyed by (thread_id, id): every message query names its thread, and a page of a
    thread is one range of the key. On SQLite the table is WITHOUT ROWID, so that range
    is also where the rows are stored, which halves the cost of a 100-message page."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_thread_id_run_id_id", "thread_id", "run_id", "id"),
        # A Response's input may name an earlier output message by id alone (`item_reference`).
        Index("ix_messages_id", "id"),
        {"sqlite_with_rowid": False},
    )

    thread_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(IdColumn())
    created_at: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[str] = mapped_column(Text)


class FileRow(Base):
    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_project_id", "project", "id"),
        Index("ix_files_project_purpose_id", "project", "purpose", "id"),
    )

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    doc: Mapped[str] = mapped_column(Text)


class UploadRow(Base):
    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    # Not in the Upload object; needed when completing it into a File.
    mime_type: Mapped[str] = mapped_column(String(255))
    file_expires_after_s: Mapped[int | None] = mapped_column(BigInteger)
    doc: Mapped[str] = mapped_column(Text)


class UploadPartRow(Base):
    __tablename__ = "upload_parts"
    __table_args__ = (Index("ix_upload_parts_upload_id_id", "upload_id", "id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    upload_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("uploads.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)


class RunRow(Base):
    """A run, and the queue: workers claim `queued` rows oldest first."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_thread_id_id", "thread_id", "id"),
        Index("ix_runs_thread_id_status", "thread_id", "status"),
        Index("ix_runs_status_id", "status", "id"),
    )

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("threads.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    # Which worker runs it, and when it last said so: a stale heartbeat means the
    # worker died and the run must not stay in_progress.
    worker: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[int | None] = mapped_column(BigInteger)
    # What the run was asked that is not part of the Run object (JSON).
    private: Mapped[str] = mapped_column(Text)
    doc: Mapped[str] = mapped_column(Text)


class RunStepRow(Base):
    __tablename__ = "run_steps"
    __table_args__ = (
        # A conversation's tool calls, paged with its messages (docs/conversations.md).
        Index("ix_run_steps_thread_id_id", "thread_id", "id"),
        {"sqlite_with_rowid": False},
    )

    run_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    doc: Mapped[str] = mapped_column(Text)
    thread_id: Mapped[str | None] = mapped_column(IdColumn())


class ConversationItemRow(Base):
    """An item of a conversation that is not a message or a run's tool call: one written
    through the Conversations API or a response's input (a function call's output, a
    system message, reasoning), or the mark that a run's tool call was deleted from
    the conversation (`type` "deleted": the run step itself stays). `key` is where it
    stands among the thread's messages and tool calls (ids.id_key)."""

    __tablename__ = "conversation_items"
    __table_args__ = (
        Index("ix_conversation_items_thread_id_key", "thread_id", "key"),
        {"sqlite_with_rowid": False},
    )

    thread_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(IdColumn())
    type: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str | None] = mapped_column(IdColumn())
    created_at: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[str] = mapped_column(Text)


class VectorStoreRow(Base):
    """A vector store. `doc` holds the whole object, counts included: every change to a
    file's status rewrites it in the same transaction, so it never disagrees with them."""

    __tablename__ = "vector_stores"
    __table_args__ = (Index("ix_vector_stores_project_id", "project", "id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    # When it expires (last_active_at + days), or None; the sweeper deletes its files.
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    # Bumped whenever its chunks change: search caches key on it.
    generation: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[str] = mapped_column(Text)


class VectorStoreFileRow(Base):
    """A File attached to a store, and the ingestion queue (`in_progress`, no worker)."""

    __tablename__ = "vector_store_files"
    __table_args__ = (
        Index("ix_vector_store_files_vector_store_id_status", "vector_store_id", "status", "id"),
        Index("ix_vector_store_files_batch_id_status", "batch_id", "status", "id"),
        Index("ix_vector_store_files_status_worker", "status", "worker"),
        {"sqlite_with_rowid": False},
    )

    vector_store_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("vector_stores.id", ondelete="CASCADE"), primary_key=True
    )
    # The File's id: the SDK helpers poll the vector-store file by the File id.
    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[str | None] = mapped_column(IdColumn())
    usage_bytes: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(512))
    worker: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[int | None] = mapped_column(BigInteger)
    # The parsed text, one item per page, for GET .../content (JSON; set once ingested).
    parsed: Mapped[str | None] = mapped_column(Text)
    doc: Mapped[str] = mapped_column(Text)


class VectorStoreFileBatchRow(Base):
    __tablename__ = "vector_store_file_batches"
    __table_args__ = (Index("ix_vector_store_file_batches_vector_store_id", "vector_store_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    vector_store_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("vector_stores.id", ondelete="CASCADE")
    )
    project: Mapped[str] = mapped_column(String(64))
    doc: Mapped[str] = mapped_column(Text)


class ResponseRow(Base):
    """A Response: the request it answers (`doc`, the fields the Response object echoes),
    its input items, and the run on its own thread that produced its output. The run's
    messages and steps are the output (services/response_docs.py reads them); a
    response goes with its thread."""

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_thread_id", "thread_id"),
        # A conversation's run finds the response it answers (many share its thread).
        Index("ix_responses_run_id", "run_id"),
    )

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("threads.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(IdColumn())
    previous_response_id: Mapped[str | None] = mapped_column(IdColumn())
    doc: Mapped[str] = mapped_column(Text)
    input: Mapped[str] = mapped_column(Text)
