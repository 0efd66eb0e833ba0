"""reports: the report archive, distribution lists, their recipients and scheduled runs

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


KINDS = ("aging", "escalation", "executive", "statement")


def upgrade() -> None:
    op.create_table(
        "report_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", _enum("report_list_kind", *KINDS), nullable=False),
        sa.Column(
            "schedule", _enum("report_schedule", "monthly", "weekly", "quarterly"), nullable=False
        ),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("language", _enum("report_list_language", "en", "zh"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("day BETWEEN 0 AND 28", name=op.f("ck_report_lists_day_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_lists")),
        sa.UniqueConstraint("name", name=op.f("uq_report_lists_name")),
    )
    op.create_table(
        "report_list_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("language", _enum("report_recipient_language", "en", "zh"), nullable=True),
        sa.CheckConstraint(
            "(staff_user_id IS NULL) <> (email IS NULL)",
            name=op.f("ck_report_list_recipients_staff_or_email"),
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["report_lists.id"],
            name=op.f("fk_report_list_recipients_list_id_report_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_report_list_recipients_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_list_recipients")),
        sa.UniqueConstraint("list_id", "email", name="uq_report_list_recipients_email"),
        sa.UniqueConstraint("list_id", "staff_user_id", name="uq_report_list_recipients_staff"),
    )
    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("state", _enum("report_run_state", "running", "sent", "failed"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["report_lists.id"],
            name=op.f("fk_report_runs_list_id_report_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_runs")),
        sa.UniqueConstraint("list_id", "period", name="uq_report_runs_period"),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("report_kind", *KINDS), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("language", _enum("report_language", "en", "zh"), nullable=False),
        sa.Column(
            "status", _enum("report_status", "queued", "running", "done", "failed"), nullable=False
        ),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("detail_file_name", sa.String(length=200), nullable=True),
        sa.Column("detail_size", sa.Integer(), nullable=True),
        sa.Column("detail_sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=254), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_reports_created_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["report_runs.id"],
            name=op.f("fk_reports_run_id_report_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index("ix_reports_created_at", "reports", ["created_at"], unique=False)
    op.create_index(op.f("ix_reports_created_by_id"), "reports", ["created_by_id"], unique=False)
    op.create_index("ix_reports_kind_as_of", "reports", ["kind", "as_of"], unique=False)
    op.create_index(op.f("ix_reports_run_id"), "reports", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reports_run_id"), table_name="reports")
    op.drop_index("ix_reports_kind_as_of", table_name="reports")
    op.drop_index(op.f("ix_reports_created_by_id"), table_name="reports")
    op.drop_index("ix_reports_created_at", table_name="reports")
    op.drop_table("reports")
    op.drop_table("report_runs")
    op.drop_table("report_list_recipients")
    op.drop_table("report_lists")
