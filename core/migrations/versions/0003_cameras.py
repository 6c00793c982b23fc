"""Cameras: registered ONVIF/RTSP cameras in rooms, with sealed credentials.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("onvif_host", sa.String(255), nullable=True),
        sa.Column("onvif_port", sa.Integer(), nullable=True),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("manufacturer", sa.String(100), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("serial", sa.String(100), nullable=False),
        sa.Column("firmware", sa.String(100), nullable=False),
        sa.Column("main_profile", sa.String(64), nullable=True),
        sa.Column("rtsp_url", sa.String(500), nullable=False),
        sa.Column("sub_profile", sa.String(64), nullable=True),
        sa.Column("sub_rtsp_url", sa.String(500), nullable=True),
        sa.Column("snapshot_uri", sa.String(500), nullable=True),
        sa.Column("profiles", sa.JSON(), nullable=False),
        sa.Column("audio_outputs", sa.String(200), nullable=False),
        sa.Column("audio_decoders", sa.String(200), nullable=False),
        sa.Column("backchannel_codecs", sa.String(200), nullable=False),
        sa.Column("talk", sa.Boolean(), nullable=False),
        sa.Column("talk_reason", sa.String(300), nullable=True),
        sa.Column("clock_offset", sa.Float(), nullable=True),
        sa.Column("clock_checked_at", TS, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name="fk_cameras_room_id_rooms"),
        sa.PrimaryKeyConstraint("id", name="pk_cameras"),
        sa.UniqueConstraint("rtsp_url", name="uq_cameras_rtsp_url"),
    )
    op.create_index("ix_cameras_room_id", "cameras", ["room_id"])


def downgrade() -> None:
    op.drop_index("ix_cameras_room_id", table_name="cameras")
    op.drop_table("cameras")
