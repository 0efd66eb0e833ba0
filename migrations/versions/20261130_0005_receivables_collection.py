"""receivables collection: escalation ladder, promises to pay, disputes, overdue causes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.db

revision = "0005"
down_revision = "0004"
branch_labels = None
# The disputed invoices refer to the ledger's invoices.
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receivable_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "quality",
                "service",
                "contract",
                "pricing",
                "delivery",
                name="dispute_reason",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open", "resolved", name="dispute_state", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=1000), nullable=True),
        sa.Column("opened_by", sa.String(length=254), nullable=False),
        sa.Column("opened_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_receivable_disputes_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivable_disputes")),
    )
    with op.batch_alter_table("receivable_disputes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_receivable_disputes_account_state", ["account_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_receivable_disputes_complaint_id"), ["complaint_id"], unique=False
        )

    op.create_table(
        "receivable_escalation_states",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("hold_until", sa.Date(), nullable=True),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("updated_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "level BETWEEN 0 AND 9", name=op.f("ck_receivable_escalation_states_level_range")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_receivable_escalation_states_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_receivable_escalation_states")),
    )
    op.create_table(
        "receivable_escalation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("from_level", sa.Integer(), nullable=False),
        sa.Column(
            "trigger",
            sa.Enum(
                "days_past_due",
                "broken_promise",
                "override",
                "cleared",
                name="escalation_trigger",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("overdue_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_label", sa.String(length=254), nullable=False),
        sa.Column("actor_staff_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_receivable_escalation_steps_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["actor_staff_id"],
            ["staff_users.id"],
            name=op.f("fk_receivable_escalation_steps_actor_staff_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivable_escalation_steps")),
        sa.UniqueConstraint(
            "account_id", "cycle", "level", name="uq_receivable_escalation_steps_level"
        ),
    )
    with op.batch_alter_table("receivable_escalation_steps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_receivable_escalation_steps_account", ["account_id", "occurred_at"], unique=False
        )

    op.create_table(
        "receivable_overdue_causes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "cause",
            sa.Enum(
                "no_urgency_in_collection",
                "messy_terms",
                "contract_dispute",
                "quality_problem",
                "poor_after_sales_service",
                "customer_in_financial_trouble",
                "fraud",
                "no_collection_method",
                name="overdue_cause",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("tagged_by", sa.String(length=254), nullable=False),
        sa.Column("tagged_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_receivable_overdue_causes_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivable_overdue_causes")),
        sa.UniqueConstraint("account_id", "cause", name="uq_receivable_overdue_causes_cause"),
    )
    with op.batch_alter_table("receivable_overdue_causes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receivable_overdue_causes_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "receivable_promises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "kept",
                "broken",
                "cancelled",
                name="promise_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("resolved_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_receivable_promises_amount_positive")),
        sa.CheckConstraint(
            "grace_days BETWEEN 0 AND 60", name=op.f("ck_receivable_promises_grace_days_range")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_receivable_promises_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivable_promises")),
    )
    with op.batch_alter_table("receivable_promises", schema=None) as batch_op:
        batch_op.create_index(
            "ix_receivable_promises_account_state", ["account_id", "state"], unique=False
        )

    op.create_table(
        "receivable_disputed_invoices",
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["receivable_disputes.id"],
            name=op.f("fk_receivable_disputed_invoices_dispute_id_receivable_disputes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["receivable_invoices.id"],
            name=op.f("fk_receivable_disputed_invoices_invoice_id_receivable_invoices"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "dispute_id", "invoice_id", name=op.f("pk_receivable_disputed_invoices")
        ),
    )
    with op.batch_alter_table("receivable_disputed_invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receivable_disputed_invoices_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "receivable_escalation_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "reminder_email",
                "call_task",
                "formal_letter_task",
                "notify_finance",
                "notify_managers",
                "credit_hold",
                "legal_review_task",
                name="escalation_action",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column(
            "task_state",
            sa.Enum("open", "done", name="task_state", native_enum=False, create_constraint=True),
            nullable=True,
        ),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=254), nullable=True),
        sa.Column("completion_note", sa.String(length=1000), nullable=True),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_receivable_escalation_actions_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["staff_users.id"],
            name=op.f("fk_receivable_escalation_actions_assignee_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["receivable_escalation_steps.id"],
            name=op.f("fk_receivable_escalation_actions_step_id_receivable_escalation_steps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivable_escalation_actions")),
        sa.UniqueConstraint("step_id", "kind", name="uq_receivable_escalation_actions_kind"),
    )
    with op.batch_alter_table("receivable_escalation_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receivable_escalation_actions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_receivable_escalation_actions_task", ["task_state", "assignee_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("receivable_escalation_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_receivable_escalation_actions_task")
        batch_op.drop_index(batch_op.f("ix_receivable_escalation_actions_account_id"))

    op.drop_table("receivable_escalation_actions")
    with op.batch_alter_table("receivable_disputed_invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receivable_disputed_invoices_invoice_id"))

    op.drop_table("receivable_disputed_invoices")
    with op.batch_alter_table("receivable_promises", schema=None) as batch_op:
        batch_op.drop_index("ix_receivable_promises_account_state")

    op.drop_table("receivable_promises")
    with op.batch_alter_table("receivable_overdue_causes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receivable_overdue_causes_account_id"))

    op.drop_table("receivable_overdue_causes")
    with op.batch_alter_table("receivable_escalation_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_receivable_escalation_steps_account")

    op.drop_table("receivable_escalation_steps")
    op.drop_table("receivable_escalation_states")
    with op.batch_alter_table("receivable_disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receivable_disputes_complaint_id"))
        batch_op.drop_index("ix_receivable_disputes_account_state")

    op.drop_table("receivable_disputes")
