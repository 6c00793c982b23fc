"""RTSP restream: one account per pulling machine (一机一账号).

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "restream_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(12), nullable=False),
        sa.Column("password_sealed", sa.Text(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name="fk_restream_accounts_unit_code_units"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_restream_accounts"),
        sa.UniqueConstraint("name", name="uq_restream_accounts_name"),
    )
    op.create_index("ix_restream_accounts_unit_code", "restream_accounts", ["unit_code"])


def downgrade() -> None:
    op.drop_index("ix_restream_accounts_unit_code", table_name="restream_accounts")
    op.drop_table("restream_accounts")
