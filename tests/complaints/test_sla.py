"""The SLA clock replayed from a timeline: pauses, severity changes, reopening, breaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.complaints import services
from monitor.complaints.models import Severity, SlaPolicy, SlaTarget, State
from monitor.complaints.sla import DEFAULT_TARGETS, Moment, compute

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def at(hours: float, state: State, severity: Severity = Severity.MEDIUM) -> Moment:
    return Moment(T0 + hours * H, state, severity)


def clock(timeline: list[Moment], now_hours: float):
    return compute(timeline, DEFAULT_TARGETS.__getitem__, T0 + now_hours * H)


def test_a_new_medium_complaint_runs_both_clocks():
    c = clock([at(0, State.NEW)], 2)
    assert c.first_response.status == "running"
    assert c.first_response.deadline == T0 + 8 * H
    assert c.first_response.elapsed == 2 * H
    assert c.resolution.deadline == T0 + 5 * 24 * H
    assert not c.first_response.breached
    assert c.next_deadline == T0 + 8 * H


def test_acknowledging_meets_the_first_response_target():
    c = clock([at(0, State.NEW), at(3, State.ACKNOWLEDGED)], 20)
    assert c.first_response.status == "met"
    assert c.first_response.met_at == T0 + 3 * H
    assert c.first_response.elapsed == 3 * H
    assert not c.first_response.breached
    assert c.next_deadline == c.resolution.deadline == T0 + 120 * H


def test_first_response_breaches_when_acknowledged_late():
    c = clock([at(0, State.NEW), at(9, State.ACKNOWLEDGED)], 10)
    assert c.first_response.breached_at == T0 + 8 * H
    assert c.first_response.status == "met"


def test_a_pause_spanning_the_deadline_moves_it():
    # Critical: resolution within 24 h. Waiting on the customer from hour 10 to hour 40 (past
    # the original deadline at hour 24): 14 h were left at the pause, so the deadline is 54.
    timeline = [
        at(0, State.NEW, Severity.CRITICAL),
        at(0.5, State.ACKNOWLEDGED, Severity.CRITICAL),
        at(10, State.WAITING_ON_CUSTOMER, Severity.CRITICAL),
        at(40, State.INVESTIGATING, Severity.CRITICAL),
    ]
    during = clock(timeline[:3], 30)
    assert during.resolution.status == "paused"
    assert during.resolution.deadline is None
    assert not during.resolution.breached
    assert during.next_deadline is None
    after = clock(timeline, 41)
    assert after.resolution.deadline == T0 + 54 * H
    assert not after.resolution.breached
    assert after.resolution.elapsed == 11 * H
    late = clock(timeline, 55)
    assert late.resolution.breached_at == T0 + 54 * H


def test_raising_severity_midway_brings_the_deadline_forward():
    # Medium (8 h to first response) raised to critical (1 h) after 30 minutes: the first
    # response is now due 1 h after receipt.
    timeline = [at(0, State.NEW), at(0.5, State.NEW, Severity.CRITICAL)]
    c = clock(timeline, 0.75)
    assert c.first_response.limit == H
    assert c.first_response.deadline == T0 + H
    assert c.resolution.deadline == T0 + 24 * H
    assert not c.first_response.breached


def test_raising_severity_after_the_new_target_breaches_at_once():
    timeline = [at(0, State.NEW), at(2, State.NEW, Severity.CRITICAL)]
    c = clock(timeline, 2.1)
    assert c.first_response.breached_at == T0 + 2 * H


def test_lowering_severity_gives_more_time():
    timeline = [at(0, State.NEW, Severity.HIGH), at(1, State.NEW, Severity.LOW)]
    c = clock(timeline, 5)
    assert c.first_response.deadline == T0 + 24 * H
    assert not c.first_response.breached


def test_resolution_stops_at_resolved_and_runs_on_after_reopening():
    timeline = [
        at(0, State.NEW, Severity.HIGH),
        at(1, State.ACKNOWLEDGED, Severity.HIGH),
        at(2, State.INVESTIGATING, Severity.HIGH),
        at(50, State.RESOLVED, Severity.HIGH),
        at(60, State.CLOSED, Severity.HIGH),
        at(100, State.REOPENED, Severity.HIGH),
    ]
    closed = clock(timeline[:5], 90)
    assert closed.resolution.status == "met"
    assert closed.resolution.met_at == T0 + 50 * H
    assert closed.resolution.elapsed == 50 * H
    reopened = clock(timeline, 101)
    assert reopened.resolution.status == "running"
    assert reopened.resolution.met_at is None
    # 72 h target, 50 h used before the resolution: 22 h left from hour 100.
    assert reopened.resolution.deadline == T0 + 122 * H
    assert clock(timeline, 123).resolution.breached_at == T0 + 122 * H


def test_a_breach_stays_recorded_after_the_complaint_is_resolved():
    timeline = [
        at(0, State.NEW, Severity.CRITICAL),
        at(2, State.ACKNOWLEDGED, Severity.CRITICAL),
        at(3, State.INVESTIGATING, Severity.CRITICAL),
        at(30, State.RESOLVED, Severity.CRITICAL),
    ]
    c = clock(timeline, 40)
    assert c.first_response.breached_at == T0 + H
    assert c.resolution.breached_at == T0 + 24 * H
    assert c.resolution.status == "met"
    assert c.next_deadline is None
    assert {t.target for t in c.targets()} == set(SlaTarget)


def test_the_targets_in_force_are_those_of_the_policies_effective_by_receipt(session):
    """Policies take effect when written; a complaint keeps the targets in force when it was
    received, those of every policy effective by then (two may take effect at one moment)."""
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def policy(at: datetime, severity: Severity, first: int, resolution: int) -> None:
        session.add(SlaPolicy(severity=severity, first_response_minutes=first,
                              resolution_minutes=resolution, effective_from=at))  # fmt: skip

    policy(t0, Severity.MEDIUM, 30, 600)
    policy(t0 + timedelta(hours=2), Severity.HIGH, 90, 900)
    policy(t0 + timedelta(hours=2), Severity.CRITICAL, 20, 300)
    session.flush()

    def first_response(at: datetime, severity: Severity) -> timedelta:
        return services.targets_for(session, at)[severity].first_response

    default = {severity: targets.first_response for severity, targets in DEFAULT_TARGETS.items()}
    assert first_response(t0 - timedelta(seconds=1), Severity.MEDIUM) == default[Severity.MEDIUM]
    assert first_response(t0, Severity.MEDIUM) == timedelta(minutes=30)  # in force from t0 on
    assert first_response(t0, Severity.HIGH) == default[Severity.HIGH]
    later = t0 + timedelta(hours=2)
    assert first_response(later, Severity.HIGH) == timedelta(minutes=90)
    assert first_response(later, Severity.CRITICAL) == timedelta(minutes=20)
    assert first_response(later, Severity.MEDIUM) == timedelta(minutes=30)  # still in force
    # A policy set now, in the same session, is seen at once.
    services.set_policy(session, Severity.LOW, 45, 900)
    assert services.targets_for(session, datetime.now(UTC))[Severity.LOW].first_response == (
        timedelta(minutes=45)
    )
