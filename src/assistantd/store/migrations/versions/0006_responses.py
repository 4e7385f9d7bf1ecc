"""Responses: each the request it answers, its input items, and the run behind it; and
messages found by id alone (a response input's `item_reference`); threads a listing
leaves out (a response's own).

Revision ID: 0006_responses
Revises: 0005_project_limits
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_responses"
down_revision = "0005_project_limits"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[str]:
    return sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("id", _id(), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", _id(), nullable=False),
        sa.Column("run_id", _id(), nullable=False),
        sa.Column("previous_response_id", _id(), nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name=op.f("fk_responses_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
    )
    op.create_index("ix_responses_thread_id", "responses", ["thread_id"])
    op.create_index("ix_messages_id", "messages", ["id"])
    with op.batch_alter_table("threads") as batch:
        batch.add_column(sa.Column("listed", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("threads") as batch:
        batch.drop_column("listed")
    op.drop_index("ix_messages_id", table_name="messages")
    op.drop_index("ix_responses_thread_id", table_name="responses")
    op.drop_table("responses")
