"""complaints: an index in queue order (nearest SLA deadline first), so that a queue page is
read from the index instead of sorting every open complaint

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_complaints_deadline", "complaints", ["sla_due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_complaints_deadline", table_name="complaints")
