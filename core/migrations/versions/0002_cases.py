"""Dispute cases: cases, parties, sessions, escalations, status history, ledger snapshots.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _case_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["case_id"], ["cases.id"], name=f"fk_{table}_case_id_cases", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "case_counters",
        sa.Column("unit_code", sa.String(12), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name="fk_case_counters_unit_code_units"
        ),
        sa.PrimaryKeyConstraint("unit_code", "year", name="pk_case_counters"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("receiving_unit", sa.String(12), nullable=False),
        sa.Column("current_unit", sa.String(12), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("dispute_type", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("townships", sa.String(200), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("leader_name", sa.String(100), nullable=True),
        sa.Column("leader_at", TS, nullable=True),
        sa.Column("leader_by", sa.String(120), nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("closure_resolved", sa.Boolean(), nullable=True),
        sa.Column("closure_note", sa.Text(), nullable=True),
        sa.Column("petitioned_at", TS, nullable=True),
        sa.Column("petition_ref", sa.String(100), nullable=True),
        sa.ForeignKeyConstraint(
            ["receiving_unit"], ["units.code"], name="fk_cases_receiving_unit_units"
        ),
        sa.ForeignKeyConstraint(
            ["current_unit"], ["units.code"], name="fk_cases_current_unit_units"
        ),
        sa.ForeignKeyConstraint(["mediator_id"], ["users.id"], name="fk_cases_mediator_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("number", name="uq_cases_number"),
    )
    op.create_index(
        "ix_cases_receiving_unit_received_at", "cases", ["receiving_unit", "received_at"]
    )
    op.create_index("ix_cases_current_unit", "cases", ["current_unit"])
    op.create_index("ix_cases_received_at", "cases", ["received_at"])
    op.create_index("ix_cases_closed_at", "cases", ["closed_at"])
    op.create_index("ix_cases_petitioned_at", "cases", ["petitioned_at"])
    op.create_table(
        "case_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name_sealed", sa.Text(), nullable=False),
        sa.Column("id_number_sealed", sa.Text(), nullable=True),
        sa.Column("phone_sealed", sa.Text(), nullable=True),
        sa.Column("name_masked", sa.String(100), nullable=False),
        sa.Column("id_number_masked", sa.String(18), nullable=True),
        sa.Column("phone_masked", sa.String(40), nullable=True),
        _case_fk("case_parties"),
        sa.PrimaryKeyConstraint("id", name="pk_case_parties"),
    )
    op.create_index("ix_case_parties_case_id", "case_parties", ["case_id"])
    op.create_table(
        "case_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(12), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("scheduled_for", TS, nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("mediator_kind", sa.String(20), nullable=False),
        sa.Column("mediators", sa.Text(), nullable=False),
        sa.Column("attendees", sa.Text(), nullable=False),
        sa.Column("linked_leader", sa.String(100), nullable=True),
        sa.Column("resident_official", sa.String(100), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recording_id", sa.String(64), nullable=True),
        sa.Column("recording_note", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        _case_fk("case_sessions"),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name="fk_case_sessions_unit_code_units"
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name="fk_case_sessions_room_id_rooms"),
        sa.PrimaryKeyConstraint("id", name="pk_case_sessions"),
    )
    op.create_index("ix_case_sessions_case_id", "case_sessions", ["case_id"])
    op.create_table(
        "case_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("from_level", sa.String(16), nullable=False),
        sa.Column("to_level", sa.String(16), nullable=False),
        sa.Column("from_unit", sa.String(12), nullable=False),
        sa.Column("to_unit", sa.String(12), nullable=False),
        sa.Column("by", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _case_fk("case_escalations"),
        sa.ForeignKeyConstraint(
            ["from_unit"], ["units.code"], name="fk_case_escalations_from_unit_units"
        ),
        sa.ForeignKeyConstraint(
            ["to_unit"], ["units.code"], name="fk_case_escalations_to_unit_units"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_escalations"),
    )
    op.create_index("ix_case_escalations_case_id", "case_escalations", ["case_id"])
    op.create_index("ix_case_escalations_at", "case_escalations", ["at"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("status_from", sa.String(20), nullable=True),
        sa.Column("status_to", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _case_fk("case_events"),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "case_ledger_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(12), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("submitted_by", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name="fk_case_ledger_snapshots_unit_code_units"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_ledger_snapshots"),
        sa.UniqueConstraint(
            "unit_code", "month", "version", name="uq_case_ledger_snapshots_unit_code_month_version"
        ),
    )


def downgrade() -> None:
    for table in (
        "case_ledger_snapshots",
        "case_events",
        "case_escalations",
        "case_sessions",
        "case_parties",
        "cases",
        "case_counters",
    ):
        op.drop_table(table)
