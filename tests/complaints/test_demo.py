"""Demo complaints: a history the SLA clock can replay, with its breaches already recorded."""

from __future__ import annotations

from sqlalchemy import func, select

from monitor import demo
from monitor.complaints import services
from monitor.complaints.models import Complaint, SlaBreach, State


def test_demo_complaints_replay_and_do_not_escalate_old_history(session):
    counts = demo.generate(session, seed=7, accounts=60)
    assert counts["complaints"] > 5
    complaints = session.scalars(select(Complaint)).all()
    assert len(complaints) == counts["complaints"]
    assert {c.state for c in complaints} >= {State.CLOSED}
    for complaint in complaints:
        assert complaint.events[0].state is State.NEW
        assert complaint.events[0].at == complaint.received_at
        assert complaint.events[-1].state is complaint.state
    assert session.scalar(select(func.count()).select_from(SlaBreach)) > 0
    # Every breach the clocks show is recorded already: the job has nothing to escalate.
    assert services.detect_breaches(session) == []
