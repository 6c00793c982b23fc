"""Several gateway processes on one database: live processes, camera leases, and which
process writes each recording.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gateway_nodes",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("url", sa.String(200), nullable=False),
        sa.Column("host", sa.String(100), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_nodes"),
    )
    op.create_index("ix_gateway_nodes_heartbeat_at", "gateway_nodes", ["heartbeat_at"])
    op.create_table(
        "camera_leases",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(32), nullable=True),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("taken_at", TS, nullable=True),
        sa.Column("previous_node", sa.String(32), nullable=True),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("state_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name="fk_camera_leases_camera_id_cameras",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("camera_id", name="pk_camera_leases"),
    )
    op.create_index("ix_camera_leases_node_id", "camera_leases", ["node_id"])
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("node_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("node_id")
    op.drop_index("ix_camera_leases_node_id", table_name="camera_leases")
    op.drop_table("camera_leases")
    op.drop_index("ix_gateway_nodes_heartbeat_at", table_name="gateway_nodes")
    op.drop_table("gateway_nodes")
