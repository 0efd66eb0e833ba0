"""Demo complaints: six months of history with realistic handling times, some breaches.

Rows are written with their historical times (the services stamp "now"), each with the state
history the SLA clock replays, and breaches already recorded, so that the first run of the
escalation job does not email anyone about demo history.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from monitor.complaints import sla
from monitor.complaints.models import (
    Category,
    Channel,
    ChecklistStep,
    Complaint,
    ComplaintEvent,
    CrisisStep,
    CustomerDecision,
    RootCause,
    Severity,
    SlaBreach,
    State,
    StepStatus,
)
from monitor.db import utcnow

#: What customers complain about, per category, in English and Chinese.
_DESCRIPTIONS = {
    Category.PRODUCT_QUALITY: ("Unit fails under load after two weeks", "设备运行两周后满负荷故障"),
    Category.DELIVERY: ("Shipment arrived five days late", "货物延迟五天到达"),
    Category.SERVICE: ("Service engineer did not show up", "维修工程师未按约上门"),
    Category.BILLING: ("Invoice does not match the order", "发票金额与订单不符"),
    Category.CONTRACT: ("Warranty terms not honoured", "未履行合同保修条款"),
    Category.OTHER: ("Hotline kept the customer waiting", "热线长时间无人接听"),
}
_SEVERITY_WEIGHTS = {Severity.LOW: 4, Severity.MEDIUM: 5, Severity.HIGH: 2, Severity.CRITICAL: 1}


def generate(
    session: Session,
    rng: random.Random,
    accounts: list[tuple[int, bool]],
    managers: list[int],
    now: datetime | None = None,
) -> dict[str, int]:
    """Complaints for about a third of ``accounts`` ((id, chinese) pairs); returns counts."""
    now = now or utcnow()
    counts = {"complaints": 0}
    for account_id, chinese in accounts:
        for _ in range(rng.choices([0, 0, 1, 1, 2, 3], k=1)[0] if rng.random() < 0.35 else 0):
            _complaint(session, rng, account_id, chinese, managers, now)
            counts["complaints"] += 1
    session.flush()
    return counts


def _complaint(
    session: Session,
    rng: random.Random,
    account_id: int,
    chinese: bool,
    managers: list[int],
    now: datetime,
) -> None:
    severity = rng.choices(list(_SEVERITY_WEIGHTS), weights=list(_SEVERITY_WEIGHTS.values()))[0]
    category = rng.choice(list(Category))
    received = now - timedelta(minutes=rng.randrange(30, 180 * 24 * 60))
    targets = sla.DEFAULT_TARGETS[severity]
    # Most answer well within target; one in eight is late.
    late = rng.random() < 0.125
    respond = targets.first_response * (rng.uniform(1.1, 2.5) if late else rng.uniform(0.05, 0.8))
    resolve = targets.resolution * (rng.uniform(1.05, 1.8) if late else rng.uniform(0.2, 0.9))
    steps = [(received, State.NEW)]
    for offset, state in (
        (respond, State.ACKNOWLEDGED),
        (respond * 1.2, State.INVESTIGATING),
        (resolve, State.RESOLVED),
        (resolve + timedelta(days=rng.uniform(1, 5)), State.CLOSED),
    ):
        if received + offset > now:
            break
        steps.append((received + offset, state))
    state = steps[-1][1]
    complaint = Complaint(
        account_id=account_id,
        channel=rng.choice([Channel.HOTLINE, Channel.HOTLINE, Channel.EMAIL, Channel.VISIT]),
        category=category,
        severity=severity,
        state=state,
        description=_DESCRIPTIONS[category][1 if chinese else 0],
        received_at=received,
        assignee_id=rng.choice(managers) if managers else None,
        created_at=received,
        updated_at=steps[-1][0],
    )
    for at, reached in steps:
        if reached is State.ACKNOWLEDGED:
            complaint.first_response_at = at
        elif reached is State.RESOLVED:
            complaint.resolved_at = at
            complaint.resolution_summary = "Root cause fixed and confirmed with the customer"
            complaint.root_cause = rng.choice(list(RootCause))
        elif reached is State.CLOSED:
            complaint.closed_at = at
            complaint.customer_decision = CustomerDecision.ACCEPTED
    timeline = [sla.Moment(at, reached, severity) for at, reached in steps]
    clock = sla.compute(timeline, sla.DEFAULT_TARGETS.__getitem__, now)
    complaint.sla_due_at = clock.next_deadline
    session.add(complaint)
    session.flush()
    session.add_all(
        ComplaintEvent(
            complaint_id=complaint.id,
            at=at,
            state=reached,
            severity=severity,
            actor_label="demo",
            note="demo history",
        )
        for at, reached in steps
    )
    for target_clock in clock.targets():
        if target_clock.breached_at is not None:
            session.add(
                SlaBreach(
                    complaint_id=complaint.id,
                    target=target_clock.target,
                    breached_at=target_clock.breached_at,
                    detected_at=target_clock.breached_at,
                    severity=severity,
                )
            )
    if severity is Severity.CRITICAL:
        finished = state is State.CLOSED
        session.add_all(
            ChecklistStep(
                complaint_id=complaint.id,
                step=step,
                position=position,
                status=StepStatus.DONE if finished else StepStatus.PENDING,
                completed_at=received + timedelta(hours=position) if finished else None,
                completed_by_label="demo" if finished else None,
            )
            for position, step in enumerate(CrisisStep, start=1)
        )
