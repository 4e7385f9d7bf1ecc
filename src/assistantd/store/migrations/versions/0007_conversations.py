"""Conversations: items a thread holds that are neither messages nor run steps (and
the marks of step items deleted from a conversation); run steps found by thread, so
that a conversation's tool calls page like its messages.

Revision ID: 0007_conversations
Revises: 0006_responses
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_conversations"
down_revision = "0006_responses"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[str]:
    return sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "conversation_items",
        sa.Column("thread_id", _id(), nullable=False),
        sa.Column("id", _id(), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("key", _id(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("run_id", _id(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name=op.f("fk_conversation_items_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", "id", name=op.f("pk_conversation_items")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_conversation_items_thread_id_key", "conversation_items", ["thread_id", "key"]
    )
    # A plain ADD COLUMN (no table rebuild): run_steps is WITHOUT ROWID on SQLite.
    op.add_column("run_steps", sa.Column("thread_id", _id(), nullable=True))
    op.execute(
        "UPDATE run_steps SET thread_id = "
        "(SELECT runs.thread_id FROM runs WHERE runs.id = run_steps.run_id)"
    )
    op.create_index("ix_run_steps_thread_id_id", "run_steps", ["thread_id", "id"])
    op.create_index("ix_responses_run_id", "responses", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_responses_run_id", table_name="responses")
    op.drop_index("ix_run_steps_thread_id_id", table_name="run_steps")
    with op.batch_alter_table("run_steps", table_kwargs={"sqlite_with_rowid": False}) as batch:
        batch.drop_column("thread_id")
    op.drop_index("ix_conversation_items_thread_id_key", table_name="conversation_items")
    op.drop_table("conversation_items")
