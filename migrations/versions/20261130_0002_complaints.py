"""complaints: the queue, state history, comments, crisis checklist, SLA policies and breaches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 11:58:19.835581
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "low",
                "medium",
                "high",
                "critical",
                name="complaint_severity",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("effective_from", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "first_response_minutes > 0",
            name=op.f("ck_complaint_sla_policies_first_response_positive"),
        ),
        sa.CheckConstraint(
            "resolution_minutes >= first_response_minutes",
            name=op.f("ck_complaint_sla_policies_resolution_later"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_sla_policies")),
        sa.UniqueConstraint(
            "severity", "effective_from", name=op.f("uq_complaint_sla_policies_severity")
        ),
    )
    op.create_table(
        "complaint_assignment_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "round_robin",
                "account_class",
                "account_owner",
                "manual",
                name="assignment_mode",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("class_managers", sa.JSON(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_assignment_rules")),
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "hotline",
                "email",
                "visit",
                "survey",
                "portal",
                "dispute",
                name="complaint_channel",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "category",
            sa.Enum(
                "product_quality",
                "delivery",
                "service",
                "billing",
                "contract",
                "other",
                name="complaint_category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum(
                "low",
                "medium",
                "high",
                "critical",
                name="complaint_severity",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "new",
                "acknowledged",
                "investigating",
                "waiting_on_customer",
                "resolved",
                "closed",
                "reopened",
                name="complaint_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("occurred_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("origin_kind", sa.String(length=40), nullable=True),
        sa.Column("origin_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("first_response_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution_summary", sa.Text(), nullable=True),
        sa.Column(
            "root_cause",
            sa.Enum(
                "product_defect",
                "process_failure",
                "human_error",
                "supplier",
                "logistics",
                "communication",
                "customer_misuse",
                "not_substantiated",
                "other",
                name="root_cause",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("closed_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "customer_decision",
            sa.Enum(
                "accepted",
                "rejected",
                "no_response",
                name="customer_decision",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("closing_note", sa.Text(), nullable=True),
        sa.Column("sla_due_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_complaints_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["staff_users.id"],
            name=op.f("fk_complaints_assignee_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_complaints_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_complaints_created_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_complaints_idempotency_key")),
        sa.UniqueConstraint("origin_kind", "origin_id", name="uq_complaints_origin"),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_complaints_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_complaints_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_complaints_queue", ["state", "sla_due_at"], unique=False)

    op.create_table(
        "complaint_checklist_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column(
            "step",
            sa.Enum(
                "reach_site",
                "listen",
                "calm_customer",
                "report_leadership",
                "first_handling",
                "mobilise_resources",
                "public_sentiment",
                name="crisis_step",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "done",
                "skipped",
                name="step_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("completed_by_label", sa.String(length=200), nullable=True),
        sa.Column("completed_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status <> 'skipped' OR skip_reason IS NOT NULL",
            name=op.f("ck_complaint_checklist_steps_skip_needs_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_checklist_steps_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["staff_users.id"],
            name=op.f("fk_complaint_checklist_steps_owner_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_checklist_steps")),
        sa.UniqueConstraint(
            "complaint_id", "step", name=op.f("uq_complaint_checklist_steps_complaint_id")
        ),
    )
    with op.batch_alter_table("complaint_checklist_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_checklist_steps_complaint_id"), ["complaint_id"], unique=False
        )

    op.create_table(
        "complaint_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum(
                "internal",
                "customer",
                name="comment_visibility",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_label", sa.String(length=200), nullable=False),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["staff_users.id"],
            name=op.f("fk_complaint_comments_author_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_comments_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_comments")),
    )
    with op.batch_alter_table("complaint_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_comments_complaint_id"), ["complaint_id"], unique=False
        )

    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "new",
                "acknowledged",
                "investigating",
                "waiting_on_customer",
                "resolved",
                "closed",
                "reopened",
                name="complaint_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum(
                "low",
                "medium",
                "high",
                "critical",
                name="complaint_severity",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_events_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_events")),
    )
    with op.batch_alter_table("complaint_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_events_complaint_id"), ["complaint_id"], unique=False
        )

    op.create_table(
        "complaint_sla_breaches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column(
            "target",
            sa.Enum(
                "first_response",
                "resolution",
                name="sla_target",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("breached_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detected_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "low",
                "medium",
                "high",
                "critical",
                name="complaint_severity",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_sla_breaches_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_sla_breaches")),
        sa.UniqueConstraint(
            "complaint_id", "target", name=op.f("uq_complaint_sla_breaches_complaint_id")
        ),
    )
    with op.batch_alter_table("complaint_sla_breaches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_sla_breaches_complaint_id"), ["complaint_id"], unique=False
        )

    # The single assignment-rule row, with the default rule (round-robin among managers).
    rules = sa.table(
        "complaint_assignment_rules",
        sa.column("mode", sa.String),
        sa.column("class_managers", sa.JSON),
        sa.column("turns", sa.Integer),
    )
    op.bulk_insert(rules, [{"mode": "round_robin", "class_managers": {}, "turns": 0}])
    if op.get_bind().dialect.name == "postgresql":
        # Round-robin turns without a lock held until commit (SQLite uses the ``turns`` column).
        op.execute("CREATE SEQUENCE complaint_assignment_turns")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE complaint_assignment_turns")
    with op.batch_alter_table("complaint_sla_breaches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_sla_breaches_complaint_id"))

    op.drop_table("complaint_sla_breaches")
    with op.batch_alter_table("complaint_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_events_complaint_id"))

    op.drop_table("complaint_events")
    with op.batch_alter_table("complaint_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_comments_complaint_id"))

    op.drop_table("complaint_comments")
    with op.batch_alter_table("complaint_checklist_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_checklist_steps_complaint_id"))

    op.drop_table("complaint_checklist_steps")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_queue")
        batch_op.drop_index(batch_op.f("ix_complaints_contact_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_assignee_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_account_id"))

    op.drop_table("complaints")
    op.drop_table("complaint_assignment_rules")
    op.drop_table("complaint_sla_policies")
