"""SQLite: a file's chunks enter the full-text index in one statement, not one trigger
run per chunk (half the cost of adding chunks: bench/RESULTS.md, export and import).

The insert trigger stays, for any writer that does not know the bulk path (a server
of the previous version during a rolling upgrade), but is skipped while
`vs_chunks_bulk` has a row. The bulk writer adds that row and removes it again inside
its own transaction, so no other connection ever sees it. PostgreSQL has no trigger to
skip (its tsvector is a generated column).

Revision ID: 0008_chunk_bulk_index
Revises: 0007_conversations
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0008_chunk_bulk_index"
down_revision = "0007_conversations"
branch_labels = None
depends_on = None

_INDEXED = " BEGIN INSERT INTO vs_chunks_fts(rowid, text) VALUES (new.id, new.text); END"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE vs_chunks_bulk (active INTEGER NOT NULL)")
    op.execute("DROP TRIGGER vs_chunks_ai")
    op.execute(
        "CREATE TRIGGER vs_chunks_ai AFTER INSERT ON vs_chunks"
        " WHEN NOT EXISTS (SELECT 1 FROM vs_chunks_bulk)" + _INDEXED
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER vs_chunks_ai")
    op.execute("CREATE TRIGGER vs_chunks_ai AFTER INSERT ON vs_chunks" + _INDEXED)
    op.execute("DROP TABLE vs_chunks_bulk")
