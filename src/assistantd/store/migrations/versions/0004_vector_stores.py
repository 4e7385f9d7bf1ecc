"""Vector stores, their files and batches, and the chunks search reads.

Revision ID: 0004_vector_stores
Revises: 0003_runs
Create Date: 2026-11-28

Chunks are created in SQL per backend (tables.UNMAPPED_TABLES says why). PostgreSQL
needs the pgvector extension; a database without it cannot run file_search, so the
migration stops with a message that names it rather than starting half-able.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_vector_stores"
down_revision = "0003_runs"
branch_labels = None
depends_on = None

PGVECTOR_MISSING = (
    "PostgreSQL extension 'vector' (pgvector) is not available in this database. "
    "assistantd needs it for vector stores: install pgvector (0.8 or newer) on the "
    "server, or use a distribution that bundles it, then start assistantd again."
)


def _id() -> sa.types.TypeEngine[str]:
    return sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def _chunks_sqlite() -> None:
    op.execute(
        "CREATE TABLE vs_chunks ("
        " id INTEGER PRIMARY KEY,"
        " vector_store_id VARCHAR(64) NOT NULL"
        "  REFERENCES vector_stores(id) ON DELETE CASCADE,"
        " file_id VARCHAR(64) NOT NULL,"
        " seq INTEGER NOT NULL,"
        " text TEXT NOT NULL,"
        " embedding BLOB NOT NULL)"
    )
    op.execute("CREATE INDEX ix_vs_chunks_store_file ON vs_chunks (vector_store_id, file_id, seq)")
    op.execute(
        "CREATE VIRTUAL TABLE vs_chunks_fts USING fts5("
        " text, content='vs_chunks', content_rowid='id', tokenize='porter unicode61')"
    )
    op.execute(
        "CREATE TRIGGER vs_chunks_ai AFTER INSERT ON vs_chunks BEGIN"
        " INSERT INTO vs_chunks_fts(rowid, text) VALUES (new.id, new.text); END"
    )
    op.execute(
        "CREATE TRIGGER vs_chunks_ad AFTER DELETE ON vs_chunks BEGIN"
        " INSERT INTO vs_chunks_fts(vs_chunks_fts, rowid, text)"
        " VALUES ('delete', old.id, old.text); END"
    )


def _chunks_postgres() -> None:
    bind = op.get_bind()
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    ).first()
    if available is None:
        raise RuntimeError(PGVECTOR_MISSING)
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(
        "CREATE TABLE vs_chunks ("
        " id BIGSERIAL PRIMARY KEY,"
        ' vector_store_id VARCHAR(64) COLLATE "C" NOT NULL'
        "  REFERENCES vector_stores(id) ON DELETE CASCADE,"
        ' file_id VARCHAR(64) COLLATE "C" NOT NULL,'
        " seq INTEGER NOT NULL,"
        " text TEXT NOT NULL,"
        " dims INTEGER NOT NULL,"
        " embedding vector NOT NULL,"
        " tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED)"
    )
    op.execute("CREATE INDEX ix_vs_chunks_store_file ON vs_chunks (vector_store_id, file_id, seq)")
    op.execute("CREATE INDEX ix_vs_chunks_tsv ON vs_chunks USING gin (tsv)")


def upgrade() -> None:
    op.create_table(
        "vector_stores",
        sa.Column("id", _id(), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vector_stores"),
    )
    op.create_index("ix_vector_stores_project_id", "vector_stores", ["project", "id"])
    op.create_table(
        "vector_store_files",
        sa.Column("vector_store_id", _id(), nullable=False),
        sa.Column("id", _id(), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("batch_id", _id(), nullable=True),
        sa.Column("usage_bytes", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("worker", sa.String(64), nullable=True),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=True),
        sa.Column("parsed", sa.Text(), nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vector_store_id"],
            ["vector_stores.id"],
            name="fk_vector_store_files_vector_store_id_vector_stores",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vector_store_id", "id", name="pk_vector_store_files"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_vector_store_files_vector_store_id_status",
        "vector_store_files",
        ["vector_store_id", "status", "id"],
    )
    op.create_index(
        "ix_vector_store_files_batch_id_status", "vector_store_files", ["batch_id", "status", "id"]
    )
    op.create_index(
        "ix_vector_store_files_status_worker", "vector_store_files", ["status", "worker"]
    )
    op.create_table(
        "vector_store_file_batches",
        sa.Column("id", _id(), nullable=False),
        sa.Column("vector_store_id", _id(), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vector_store_id"],
            ["vector_stores.id"],
            name="fk_vector_store_file_batches_vector_store_id_vector_stores",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_vector_store_file_batches"),
    )
    op.create_index(
        "ix_vector_store_file_batches_vector_store_id",
        "vector_store_file_batches",
        ["vector_store_id"],
    )
    if op.get_bind().dialect.name == "postgresql":
        _chunks_postgres()
    else:
        _chunks_sqlite()


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS vs_chunks_fts")
    op.execute("DROP TABLE IF EXISTS vs_chunks")
    op.drop_table("vector_store_file_batches")
    op.drop_table("vector_store_files")
    op.drop_table("vector_stores")
