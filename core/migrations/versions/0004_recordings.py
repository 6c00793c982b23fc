"""Recordings: index of segments and gaps, case links, room policies, evidence exports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _rec_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["recording_id"],
        ["recordings.id"],
        name=f"fk_{table}_recording_id_recordings",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("unit_code", sa.String(12), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_by", sa.String(120), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("stopped_at", TS, nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("media_start", TS, nullable=True),
        sa.Column("media_end", TS, nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("segment_count", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("case_session_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("delete_reason", sa.Text(), nullable=True),
        # A camera removed from the registry leaves its recordings (evidence) in place.
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name="fk_recordings_camera_id_cameras",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name="fk_recordings_unit_code_units"
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name="fk_recordings_room_id_rooms"),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
    )
    op.create_index("ix_recordings_camera_id", "recordings", ["camera_id"])
    op.create_index("ix_recordings_unit_code", "recordings", ["unit_code"])
    op.create_index("ix_recordings_state", "recordings", ["state"])
    op.create_index("ix_recordings_started_at", "recordings", ["started_at"])
    op.create_table(
        "recording_segments",
        sa.Column("recording_id", sa.String(40), nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("start", TS, nullable=False),
        sa.Column("end", TS, nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("chain", sa.String(64), nullable=False),
        sa.Column("recovered", sa.Boolean(), nullable=False),
        sa.Column("talkers", sa.Text(), nullable=False),
        _rec_fk("recording_segments"),
        sa.PrimaryKeyConstraint("recording_id", "idx", name="pk_recording_segments"),
    )
    op.create_index("ix_recording_segments_start", "recording_segments", ["start"])
    op.create_table(
        "recording_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(40), nullable=False),
        sa.Column("start", TS, nullable=False),
        sa.Column("end", TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _rec_fk("recording_gaps"),
        sa.PrimaryKeyConstraint("id", name="pk_recording_gaps"),
    )
    op.create_index("ix_recording_gaps_recording_id", "recording_gaps", ["recording_id"])
    op.create_table(
        "recording_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(40), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("range_start", TS, nullable=True),
        sa.Column("range_end", TS, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("attached_by", sa.String(120), nullable=False),
        sa.Column("attached_at", TS, nullable=False),
        _rec_fk("recording_cases"),
        # RESTRICT: a case cannot disappear from under the evidence it holds.
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_recording_cases_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_recording_cases"),
    )
    op.create_index("ix_recording_cases_recording_id", "recording_cases", ["recording_id"])
    op.create_index("ix_recording_cases_case_id", "recording_cases", ["case_id"])
    op.create_table(
        "room_recording_policies",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("windows", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(120), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_room_recording_policies_room_id_rooms"
        ),
        sa.PrimaryKeyConstraint("room_id", name="pk_room_recording_policies"),
    )
    op.create_table(
        "evidence_exports",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(12), nullable=False),
        sa.Column("requested_by", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ranges", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("path", sa.String(300), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_evidence_exports_case_id_cases"
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name="fk_evidence_exports_unit_code_units"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_evidence_exports"),
    )
    op.create_index("ix_evidence_exports_case_id", "evidence_exports", ["case_id"])


def downgrade() -> None:
    op.drop_table("evidence_exports")
    op.drop_table("room_recording_policies")
    op.drop_table("recording_cases")
    op.drop_table("recording_gaps")
    op.drop_table("recording_segments")
    op.drop_table("recordings")
