"""surveys: questionnaires, cycles, invitations and their links, responses, answers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_cycles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("opens_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminder_days", sa.JSON(), nullable=False),
        sa.Column("eligible_count", sa.Integer(), nullable=False),
        sa.Column("opted_out_count", sa.Integer(), nullable=False),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "closes_at > opens_at", name=op.f("ck_survey_cycles_closes_after_opening")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_cycles")),
        sa.UniqueConstraint("quarter", name=op.f("uq_survey_cycles_quarter")),
    )
    op.create_table(
        "survey_questionnaires",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "user",
                "buyer",
                "decider",
                name="respondent_role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_questionnaires")),
        sa.UniqueConstraint("role", "version", name="uq_survey_questionnaires_version"),
    )
    op.create_table(
        "survey_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "respondent_role",
            sa.Enum(
                "user",
                "buyer",
                "decider",
                name="respondent_role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "language",
            sa.Enum("en", "zh", name="survey_language", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("account_class", sa.String(length=1), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("responded_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("last_reminded_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["survey_cycles.id"],
            name=op.f("fk_survey_invitations_cycle_id_survey_cycles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["survey_questionnaires.id"],
            name=op.f("fk_survey_invitations_questionnaire_id_survey_questionnaires"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
        sa.UniqueConstraint("cycle_id", "contact_id", name="uq_survey_invitations_cycle_contact"),
    )
    op.create_index(
        op.f("ix_survey_invitations_account_id"), "survey_invitations", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_survey_invitations_contact_id"), "survey_invitations", ["contact_id"], unique=False
    )
    op.create_index(
        "ix_survey_invitations_cycle_responded",
        "survey_invitations",
        ["cycle_id", "responded_at"],
        unique=False,
    )
    op.create_table(
        "survey_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("created_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["survey_invitations.id"],
            name=op.f("fk_survey_links_invitation_id_survey_invitations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_survey_links_token_hash")),
    )
    op.create_index(
        op.f("ix_survey_links_invitation_id"), "survey_links", ["invitation_id"], unique=False
    )
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column(
            "respondent_role",
            sa.Enum(
                "user",
                "buyer",
                "decider",
                name="respondent_role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("account_class", sa.String(length=1), nullable=False),
        sa.Column(
            "language",
            sa.Enum("en", "zh", name="survey_language", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("submitted_at", monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("wants_contact", sa.Boolean(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["survey_cycles.id"],
            name=op.f("fk_survey_responses_cycle_id_survey_cycles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["survey_invitations.id"],
            name=op.f("fk_survey_responses_invitation_id_survey_invitations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["survey_questionnaires.id"],
            name=op.f("fk_survey_responses_questionnaire_id_survey_questionnaires"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_survey_responses_invitation_id")),
    )
    op.create_index(
        op.f("ix_survey_responses_account_id"), "survey_responses", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_survey_responses_contact_id"), "survey_responses", ["contact_id"], unique=False
    )
    op.create_index(
        "ix_survey_responses_cycle_role",
        "survey_responses",
        ["cycle_id", "respondent_role"],
        unique=False,
    )
    op.create_index(
        "ix_survey_responses_submitted_at", "survey_responses", ["submitted_at"], unique=False
    )
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("question_key", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "nps",
                "csat",
                "ces",
                "single_choice",
                "free_text",
                name="question_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["survey_responses.id"],
            name=op.f("fk_survey_answers_response_id_survey_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("response_id", "question_key", name="uq_survey_answers_question"),
    )
    op.create_index(
        "ix_survey_answers_kind", "survey_answers", ["kind", "response_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_survey_answers_kind", table_name="survey_answers")
    op.drop_table("survey_answers")
    op.drop_index("ix_survey_responses_submitted_at", table_name="survey_responses")
    op.drop_index("ix_survey_responses_cycle_role", table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_contact_id"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_account_id"), table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_index(op.f("ix_survey_links_invitation_id"), table_name="survey_links")
    op.drop_table("survey_links")
    op.drop_index("ix_survey_invitations_cycle_responded", table_name="survey_invitations")
    op.drop_index(op.f("ix_survey_invitations_contact_id"), table_name="survey_invitations")
    op.drop_index(op.f("ix_survey_invitations_account_id"), table_name="survey_invitations")
    op.drop_table("survey_invitations")
    op.drop_table("survey_questionnaires")
    op.drop_table("survey_cycles")
