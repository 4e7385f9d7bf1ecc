"""Per-project rate limits.

Revision ID: 0005_project_limits
Revises: 0004_vector_stores
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_project_limits"
down_revision = "0004_vector_stores"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_limits",
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("requests_per_minute", sa.BigInteger(), nullable=True),
        sa.Column("tokens_per_minute", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project", name=op.f("pk_project_limits")),
    )


def downgrade() -> None:
    op.drop_table("project_limits")
