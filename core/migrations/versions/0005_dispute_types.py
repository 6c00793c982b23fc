"""Configurable dispute types, seeded with the ten standard ledger types.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Written out here, not imported: a revision must keep seeding what it seeded when released.
_STANDARD = (
    ("neighbourhood", "邻里纠纷", "Neighbourhood"),
    ("family", "婚姻家庭纠纷", "Marriage and family"),
    ("land_forest", "山林土地纠纷", "Land and forestry"),
    ("labour", "劳动争议/欠薪纠纷", "Labour and unpaid wages"),
    ("contract_debt", "合同债务纠纷", "Contracts and debts"),
    ("construction", "工程建设纠纷", "Construction"),
    ("traffic", "交通事故纠纷", "Traffic accidents"),
    ("medical", "医疗纠纷", "Medical"),
    ("property", "物业房屋纠纷", "Property and housing"),
    ("other", "其他纠纷", "Other"),
)


def upgrade() -> None:
    table = op.create_table(
        "case_dispute_types",
        sa.Column("key", sa.String(20), nullable=False),
        sa.Column("label_zh", sa.String(50), nullable=False),
        sa.Column("label_en", sa.String(50), nullable=False),
        sa.Column("ledger_column", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_case_dispute_types"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        table,
        [
            {
                "key": key,
                "label_zh": zh,
                "label_en": en,
                "ledger_column": key,
                "active": True,
                "position": 10 * (i + 1),
                "updated_by": "migration 0005",
                "updated_at": now,
            }
            for i, (key, zh, en) in enumerate(_STANDARD)
        ],
    )


def downgrade() -> None:
    op.drop_table("case_dispute_types")
