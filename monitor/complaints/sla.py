"""The SLA clock: computed from a complaint's recorded timeline every time it is read.

Nothing here counts in place. The clock replays the complaint's state and severity history
(``complaint_events``) against the targets of the policy the complaint is held to, so a pause,
a change of severity, a reopening or a policy edit can never leave a stored counter behind.

Rules (24x7 clock, no business hours):

* The first-response clock runs from receipt while the complaint is ``new``; it is met at the
  first change out of ``new`` (acknowledging records the first response).
* The resolution clock runs while the complaint is open and not waiting on the customer
  (``new``, ``acknowledged``, ``investigating``, ``reopened``); it pauses while ``waiting on
  customer``, stops at ``resolved`` and ``closed``, and runs on from where it stopped when the
  complaint is reopened.
* Each instant is measured against the target of the severity in force at that instant, on the
  total running time since receipt (as help desks do): raising severity mid-way brings the
  deadline forward to receipt + the new target of running time, and breaches at once when that
  much running time has already passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.complaints.models import Severity, SlaTarget, State


@dataclass(frozen=True)
class Targets:
    first_response: timedelta
    resolution: timedelta

    def of(self, target: SlaTarget) -> timedelta:
        return self.first_response if target is SlaTarget.FIRST_RESPONSE else self.resolution


#: The default policy per severity: (first response, resolution). Admins can override it.
DEFAULT_TARGETS: dict[Severity, Targets] = {
    Severity.CRITICAL: Targets(timedelta(hours=1), timedelta(hours=24)),
    Severity.HIGH: Targets(timedelta(hours=4), timedelta(hours=72)),
    Severity.MEDIUM: Targets(timedelta(hours=8), timedelta(days=5)),
    Severity.LOW: Targets(timedelta(hours=24), timedelta(days=10)),
}

#: States in which each clock runs.
RUNNING_IN: dict[SlaTarget, frozenset[State]] = {
    SlaTarget.FIRST_RESPONSE: frozenset({State.NEW}),
    SlaTarget.RESOLUTION: frozenset(
        {State.NEW, State.ACKNOWLEDGED, State.INVESTIGATING, State.REOPENED}
    ),
}
#: States that end the resolution clock (until a reopening starts it again).
STOPPED_IN = frozenset({State.RESOLVED, State.CLOSED})


@dataclass(frozen=True)
class Moment:
    """From ``at`` on, the complaint is in ``state`` with ``severity``."""

    at: datetime
    state: State
    severity: Severity


@dataclass(frozen=True)
class TargetClock:
    target: SlaTarget
    #: The target of the severity in force now.
    limit: timedelta
    #: Running time counted so far (until ``now``, or until met).
    elapsed: timedelta
    #: ``running``, ``paused``, ``met`` (first response given / resolved) or ``pending``.
    status: str
    #: When the clock runs out if it keeps running; null while paused or met.
    deadline: datetime | None
    #: When the running time first exceeded the target, if it did.
    breached_at: datetime | None
    #: When the target was met (first response, or the latest resolution).
    met_at: datetime | None

    @property
    def breached(self) -> bool:
        return self.breached_at is not None

    @property
    def remaining(self) -> timedelta:
        return self.limit - self.elapsed


@dataclass(frozen=True)
class SlaClock:
    first_response: TargetClock
    resolution: TargetClock

    def targets(self) -> tuple[TargetClock, TargetClock]:
        return (self.first_response, self.resolution)

    @property
    def next_deadline(self) -> datetime | None:
        """The queue's sort key: the earliest deadline of a running clock (past if breached)."""
        running = [c.breached_at or c.deadline for c in self.targets() if c.status == "running"]
        return min((d for d in running if d is not None), default=None)


def _target_clock(
    target: SlaTarget,
    timeline: Sequence[Moment],
    targets_for: Callable[[Severity], Targets],
    now: datetime,
) -> TargetClock:
    running_states = RUNNING_IN[target]
    elapsed = timedelta(0)
    breached_at: datetime | None = None
    met_at: datetime | None = None
    for i, moment in enumerate(timeline):
        end = timeline[i + 1].at if i + 1 < len(timeline) else max(now, moment.at)
        if target is SlaTarget.FIRST_RESPONSE and moment.state is not State.NEW:
            met_at = moment.at
            break
        if target is SlaTarget.RESOLUTION:
            # met at the first stop; a reopening clears it until the next resolution
            met_at = (met_at or moment.at) if moment.state in STOPPED_IN else None
        if moment.state not in running_states:
            continue
        limit = targets_for(moment.severity).of(target)
        span = end - moment.at
        if breached_at is None and elapsed + span >= limit:
            breached_at = moment.at + max(limit - elapsed, timedelta(0))
        elapsed += span
    last = timeline[-1]
    limit = targets_for(last.severity).of(target)
    if met_at is not None:
        status, deadline = "met", None
    elif last.state in running_states:
        elapsed_before = elapsed - (max(now, last.at) - last.at)
        status, deadline = "running", last.at + max(limit - elapsed_before, timedelta(0))
    else:
        status, deadline = "paused", None
    return TargetClock(target, limit, elapsed, status, deadline, breached_at, met_at)


def minutes(delta: timedelta) -> float:
    """A duration in minutes, to a tenth, as the API and the statistics show it."""
    return round(delta / timedelta(minutes=1), 1)


def compute(
    timeline: Sequence[Moment], targets_for: Callable[[Severity], Targets], now: datetime
) -> SlaClock:
    """Replay ``timeline`` (oldest first, the first moment being receipt) up to ``now``."""
    if not timeline:
        raise ValueError("a complaint's timeline starts at its receipt")
    return SlaClock(
        first_response=_target_clock(SlaTarget.FIRST_RESPONSE, timeline, targets_for, now),
        resolution=_target_clock(SlaTarget.RESOLUTION, timeline, targets_for, now),
    )
