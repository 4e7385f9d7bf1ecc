"""Core objects: API keys, assistants, threads, messages.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[str]:
    return sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", _id(), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("redacted", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "assistants",
        sa.Column("id", _id(), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("reasoning_effort", sa.String(16), nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assistants"),
    )
    op.create_index("ix_assistants_project_id", "assistants", ["project", "id"])
    op.create_table(
        "threads",
        sa.Column("id", _id(), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_threads"),
    )
    op.create_index("ix_threads_project_id", "threads", ["project", "id"])
    op.create_table(
        "messages",
        sa.Column("thread_id", _id(), nullable=False),
        sa.Column("id", _id(), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("run_id", _id(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name="fk_messages_thread_id_threads",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", "id", name="pk_messages"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_messages_thread_id_run_id_id", "messages", ["thread_id", "run_id", "id"])


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("threads")
    op.drop_table("assistants")
    op.drop_table("api_keys")
