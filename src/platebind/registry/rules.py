"""The registry's rules as pure functions: facts in, decision out.

No I/O here, so the rules can be tested exhaustively and reused by whatever does the I/O
(service, edge controller, benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from itertools import islice
from uuid import UUID

from platebind.clock import TAIPEI, BusinessCalendar, days_from

# A scope whose every day is closed would otherwise loop for ever.
MAX_CUTOVER_SEARCH_DAYS = 400


class BindingStatus(StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDING = "ending"
    ENDED = "ended"
    CANCELLED = "cancelled"


class EndReason(StrEnum):
    UNBOUND = "unbound"
    TRANSFERRED = "transferred"
    AGENT_SUSPENDED = "agent_suspended"
    OFFBOARDED = "offboarded"
    OWNER_CHANGED = "owner_changed"


@dataclass(frozen=True)
class CutoverPolicy:
    """When a scope's requests take effect."""

    cutover_minute: int = 4 * 60
    lead: timedelta = timedelta(hours=1)
    immediate: bool = False
    business_days_only: bool = False


@dataclass(frozen=True)
class Interval:
    """What the rules need to know of a binding."""

    id: UUID
    agent_id: str
    valid_from: datetime
    valid_to: datetime | None

    @property
    def cancelled(self) -> bool:
        return self.valid_to is not None and self.valid_to == self.valid_from


def binding_status(valid_from: datetime, valid_to: datetime | None, at: datetime) -> BindingStatus:
    """Precedence: cancelled, scheduled, ending, active, ended (half-open intervals)."""
    if valid_to is not None and valid_to == valid_from:
        return BindingStatus.CANCELLED
    if valid_from > at:
        return BindingStatus.SCHEDULED
    if valid_to is None:
        return BindingStatus.ACTIVE
    return BindingStatus.ENDING if valid_to > at else BindingStatus.ENDED


def first_cutover_at_or_after(
    instant: datetime, policy: CutoverPolicy, calendar: BusinessCalendar
) -> datetime:
    """The first daily cut-over (Taipei wall clock) at or after ``instant``."""
    local = instant.astimezone(TAIPEI)
    wall = time(policy.cutover_minute // 60, policy.cutover_minute % 60)
    for day in islice(days_from(local.date()), MAX_CUTOVER_SEARCH_DAYS):
        if policy.business_days_only and not calendar.is_business_day(day):
            continue
        cutover = datetime.combine(day, wall, tzinfo=TAIPEI)
        if cutover >= local:
            return cutover.astimezone(UTC)
    raise ValueError("no cut-over day found within a year: every day is closed")


def request_effective_at(
    requested_at: datetime, policy: CutoverPolicy, calendar: BusinessCalendar
) -> datetime:
    """When a bind requested at ``requested_at`` takes effect."""
    if policy.immediate:
        return requested_at
    return first_cutover_at_or_after(requested_at + policy.lead, policy, calendar)


def end_effective_at(
    requested_at: datetime,
    valid_from: datetime,
    policy: CutoverPolicy,
    calendar: BusinessCalendar,
) -> datetime:
    """When an unbind requested at ``requested_at`` ends a binding that starts at ``valid_from``.

    Never before the binding starts; if the result equals ``valid_from`` the binding is cancelled,
    and a lot that synced it learns so at least ``lead`` before it would have started.
    """
    if policy.immediate:
        return max(requested_at, valid_from)
    return first_cutover_at_or_after(max(requested_at + policy.lead, valid_from), policy, calendar)


@dataclass(frozen=True)
class Truncation:
    interval: Interval
    valid_to: datetime
    reason: EndReason


@dataclass(frozen=True)
class BindPlan:
    """What a bind does: return an existing binding, or start one (ending others first)."""

    existing: Interval | None = None
    start: datetime | None = None
    truncations: list[Truncation] = field(default_factory=list)
    uses_transfer_code: bool = False


class Takeover(StrEnum):
    """Why another agent's open binding may be taken over, if at all."""

    NONE = "none"
    HOLDER_SUSPENDED = "holder_suspended"
    TRANSFER_CODE = "transfer_code"


class Conflict(Exception):
    """The plate is held by another agent and no takeover applies."""


def live_intervals(intervals: list[Interval], at: datetime) -> list[Interval]:
    """Bindings that are not over at ``at`` (cancelled ones never count), by start."""
    live = [i for i in intervals if not i.cancelled and (i.valid_to is None or i.valid_to > at)]
    return sorted(live, key=lambda i: i.valid_from)


def open_interval(live: list[Interval]) -> Interval | None:
    return next((i for i in live if i.valid_to is None), None)


def plan_bind(
    live: list[Interval], agent_id: str, effective_at: datetime, takeover: Takeover
) -> BindPlan:
    """Decide a bind by ``agent_id`` given the plate's live bindings.

    - the agent already holds the open binding: that binding (idempotent);
    - nobody holds an open binding: start at ``effective_at``, or exactly when the last ending
      binding ends (a queued bind, or the same agent continuing: no gap);
    - another agent holds it: with a takeover (transfer code, suspended holder) that binding ends
      at ``effective_at`` (or is cancelled if not started by then) and the new one follows it;
      otherwise :class:`Conflict`.
    """
    holder = open_interval(live)
    if holder is not None and holder.agent_id == agent_id:
        return BindPlan(existing=holder)
    if holder is None:
        return BindPlan(start=_after_endings(live, effective_at, queued=True))
    if takeover is Takeover.NONE:
        raise Conflict
    reason = (
        EndReason.TRANSFERRED if takeover is Takeover.TRANSFER_CODE else EndReason.AGENT_SUSPENDED
    )
    if effective_at > holder.valid_from:
        truncation = Truncation(holder, effective_at, reason)
        start = effective_at
    else:
        truncation = Truncation(holder, holder.valid_from, reason)
        others = [i for i in live if i is not holder]
        start = _after_endings(others, effective_at, queued=False)
    return BindPlan(
        start=start,
        truncations=[truncation],
        uses_transfer_code=takeover is Takeover.TRANSFER_CODE,
    )


def _after_endings(ending: list[Interval], effective_at: datetime, *, queued: bool) -> datetime:
    """Where a new binding starts behind bindings that already end.

    A queued bind starts exactly when the last one ends (no gap, even before ``effective_at``):
    lots already know of that end. Otherwise never before ``effective_at``.
    """
    ends = [i.valid_to for i in ending if i.valid_to is not None]
    if not ends:
        return effective_at
    last_end = max(ends)
    return last_end if queued else max(last_end, effective_at)
