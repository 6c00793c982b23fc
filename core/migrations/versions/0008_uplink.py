"""GB/T 28181 uplink: upper platforms, and every camera's 20-digit channel ID.

Existing cameras get the default channel ID (unit code's first 8 digits, industry 00,
type 132, network 0, the camera id as serial), the rule new registrations follow.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(sa.Column("gb_id", sa.String(20), nullable=True))
        batch.create_unique_constraint("uq_cameras_gb_id", ["gb_id"])
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT cameras.id, rooms.unit_code FROM cameras JOIN rooms ON rooms.id = cameras.room_id")
    ).all()
    for camera_id, unit_code in rows:
        gb_id = f"{str(unit_code)[:8].ljust(8, '0')}001320{int(camera_id) % 1_000_000:06d}"
        connection.execute(
            sa.text("UPDATE cameras SET gb_id = :gb WHERE id = :id"), {"gb": gb_id, "id": camera_id}
        )
    op.create_table(
        "uplink_platforms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(12), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("server_id", sa.String(20), nullable=False),
        sa.Column("domain", sa.String(10), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("transport", sa.String(3), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("expires", sa.Integer(), nullable=False),
        sa.Column("keepalive_interval", sa.Integer(), nullable=False),
        sa.Column("keepalive_misses", sa.Integer(), nullable=False),
        sa.Column("charset", sa.String(8), nullable=False),
        sa.Column("version", sa.String(4), nullable=False),
        sa.Column("cameras", sa.JSON(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("state_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_uplink_platforms"),
    )
    op.create_index("ix_uplink_platforms_unit_code", "uplink_platforms", ["unit_code"])


def downgrade() -> None:
    op.drop_index("ix_uplink_platforms_unit_code", table_name="uplink_platforms")
    op.drop_table("uplink_platforms")
    with op.batch_alter_table("cameras") as batch:
        batch.drop_constraint("uq_cameras_gb_id", type_="unique")
        batch.drop_column("gb_id")
