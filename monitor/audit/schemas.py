"""Response shapes of the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from monitor.api.schemas import Output


class AuditEventOut(Output):
    id: int
    occurred_at: datetime
    actor_kind: str
    actor_label: str
    actor_staff_id: int | None
    entity_type: str
    entity_id: str
    action: str
    changes: dict[str, Any] = Field(description="{field: [before, after]}")


class History(Output):
    entity_type: str
    entity_id: str
    events: list[AuditEventOut]
