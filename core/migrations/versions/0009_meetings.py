"""Weekly video meetings: series, required attendees, occurrences and their event log.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meeting_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(12), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start", sa.String(5), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("until_day", sa.Date(), nullable=True),
        sa.Column("chair", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name="fk_meeting_series_unit_code_units"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_series"),
    )
    op.create_index("ix_meeting_series_unit_code", "meeting_series", ["unit_code"])
    op.create_table(
        "meeting_attendees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(24), nullable=False),
        sa.Column("site", sa.String(100), nullable=False),
        sa.Column("unit_code", sa.String(12), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["meeting_series.id"],
            name="fk_meeting_attendees_series_id_meeting_series",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_attendees"),
    )
    op.create_index("ix_meeting_attendees_series_id", "meeting_attendees", ["series_id"])
    op.create_index("ix_meeting_attendees_unit_code", "meeting_attendees", ["unit_code"])
    op.create_table(
        "meeting_occurrences",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", TS, nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("agenda", sa.Text(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("node_id", sa.String(32), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["meeting_series.id"],
            name="fk_meeting_occurrences_series_id_meeting_series",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "day", name="pk_meeting_occurrences"),
    )
    op.create_index("ix_meeting_occurrences_starts_at", "meeting_occurrences", ["starts_at"])
    op.create_table(
        "meeting_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("participant", sa.String(40), nullable=False),
        sa.Column("site", sa.String(100), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["meeting_series.id"],
            name="fk_meeting_events_series_id_meeting_series",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_events"),
    )
    op.create_index("ix_meeting_events_occurrence", "meeting_events", ["series_id", "day", "id"])


def downgrade() -> None:
    op.drop_index("ix_meeting_events_occurrence", table_name="meeting_events")
    op.drop_table("meeting_events")
    op.drop_index("ix_meeting_occurrences_starts_at", table_name="meeting_occurrences")
    op.drop_table("meeting_occurrences")
    op.drop_index("ix_meeting_attendees_unit_code", table_name="meeting_attendees")
    op.drop_index("ix_meeting_attendees_series_id", table_name="meeting_attendees")
    op.drop_table("meeting_attendees")
    op.drop_index("ix_meeting_series_unit_code", table_name="meeting_series")
    op.drop_table("meeting_series")
