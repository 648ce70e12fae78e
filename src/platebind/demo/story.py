"""The plan: which story each plate lives through, as a time-ordered list of steps.

Pure data, deterministic for a ``random.Random``; nothing here touches the database.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import NamedTuple

from platebind.clock import TAIPEI, BusinessCalendar
from platebind.demo.profiles import (
    AGENT_IDS,
    DAYS,
    LOTS_POLICY,
    MARKET_SHARE,
    ROADSIDE_SHARE,
    SAME_AGENT_BOTH_SCOPES,
    SCOPES,
    SUSPENDED_AGENT,
)
from platebind.registry.rules import first_cutover_at_or_after


class PlateRef(NamedTuple):
    scope_id: str
    vehicle_type: str
    plate: str


@dataclass(frozen=True, order=True)
class Step:
    """One thing that happens at ``at``; ``order`` keeps same-instant steps in plan order."""

    at: datetime
    order: int
    action: str = field(compare=False)
    agent: str = field(default="", compare=False)
    ref: PlateRef | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Timeline:
    start: datetime  # the registry is set up here
    now: datetime
    fresh_from: datetime  # a request after this takes effect after ``now``
    suspended_from: datetime
    suspended_until: datetime

    @classmethod
    def ending_at(cls, now: datetime) -> Timeline:
        start = now - timedelta(days=DAYS)
        # The last cut-over at or before ``now`` (daily scope; a business-day scope's is no
        # later), minus the lead: anything requested after that takes effect after ``now``.
        last = first_cutover_at_or_after(
            now - timedelta(days=1, seconds=-1), LOTS_POLICY, BusinessCalendar()
        )
        suspension_day = start.astimezone(TAIPEI).date() + timedelta(days=11)
        return cls(
            start=start,
            now=now,
            fresh_from=last - LOTS_POLICY.lead + timedelta(minutes=1),
            suspended_from=datetime.combine(suspension_day, time(10), TAIPEI),
            suspended_until=datetime.combine(suspension_day + timedelta(days=3), time(15), TAIPEI),
        )

    def is_suspended(self, agent_id: str, at: datetime) -> bool:
        return agent_id == SUSPENDED_AGENT and self.suspended_from <= at <= self.suspended_until

    def cycle_times(self) -> list[datetime]:
        """Five past every cut-over, as the parking office's nightly job runs, and ``now``."""
        first = self.start.astimezone(TAIPEI).date() + timedelta(days=1)
        days = (self.now.astimezone(TAIPEI).date() - first).days + 1
        runs = [
            datetime.combine(first + timedelta(days=d), time(4, 5), TAIPEI) for d in range(days)
        ]
        return [at for at in runs if at < self.now] + [self.now]


# Which story each plate (per scope) lives through, and how often.
STORIES = {
    "active": 34, "ended": 8, "switched": 9, "transferred": 7, "cancelled": 7,
    "ending": 8, "queued": 6, "transferring": 4, "scheduled": 9, "suspended_takeover": 3,
}  # fmt: skip


class Planner:
    """Turns plates into a time-ordered list of steps; pure, deterministic for an ``rng``."""

    def __init__(self, rng: random.Random, timeline: Timeline) -> None:
        self.rng = rng
        self.t = timeline
        self.steps: list[Step] = []
        self._stories: dict[str, Callable[[PlateRef, str | None], str]] = {
            "active": self._active,
            "ended": self._ended,
            "switched": self._switched,
            "transferred": self._transferred,
            "cancelled": self._cancelled,
            "ending": self._ending,
            "queued": self._queued,
            "transferring": self._transferring,
            "scheduled": self._scheduled,
            "suspended_takeover": self._suspended_takeover,
        }

    def plan(self, plates: list[tuple[str, str]]) -> list[Step]:
        self._add(self.t.suspended_from, "suspend", SUSPENDED_AGENT)
        self._add(self.t.suspended_until, "reactivate", SUSPENDED_AGENT)
        names, weights = list(STORIES), list(STORIES.values())
        for vehicle_type, plate in plates:
            story = self.rng.choices(names, weights)[0]
            agent = self._stories[story](PlateRef(SCOPES[0].id, vehicle_type, plate), None)
            if self.rng.random() < ROADSIDE_SHARE:
                story = self.rng.choices(names, weights)[0]
                self._stories[story](PlateRef(SCOPES[1].id, vehicle_type, plate), agent)
        for at in self.t.cycle_times():
            self._add(at, "cycle")
        return sorted(self.steps)

    # helpers

    def _add(self, at: datetime, action: str, agent: str = "", ref: PlateRef | None = None) -> None:
        self.steps.append(Step(at, len(self.steps), action, agent, ref))

    def _moment(self, lo: datetime, hi: datetime) -> datetime:
        """A whole minute in ``[lo, hi]``, in Taipei waking hours when the range allows."""
        span = max(0, int((hi - lo).total_seconds() // 60))
        at = lo
        for _ in range(8):
            at = lo + timedelta(minutes=self.rng.randint(0, span))
            if 7 <= at.astimezone(TAIPEI).hour < 23:
                break
        return at

    def _agent(self, at: datetime, exclude: str = "", prefer: str | None = None) -> str:
        """An agent that may bind at ``at`` (not suspended), by market share."""
        if (
            prefer is not None
            and self._may_bind(prefer, at, exclude)
            and self.rng.random() < SAME_AGENT_BOTH_SCOPES
        ):
            return prefer
        choices = [
            (a, w)
            for a, w in zip(AGENT_IDS, MARKET_SHARE, strict=True)
            if self._may_bind(a, at, exclude)
        ]
        return self.rng.choices([a for a, _ in choices], [w for _, w in choices])[0]

    def _may_bind(self, agent_id: str, at: datetime, exclude: str) -> bool:
        return agent_id != exclude and not self.t.is_suspended(agent_id, at)

    def _bind(
        self, at: datetime, ref: PlateRef, exclude: str = "", prefer: str | None = None
    ) -> str:
        agent = self._agent(at, exclude, prefer)
        self._add(at, "bind", agent, ref)
        return agent

    def _days_ago(self, days: float) -> datetime:
        return self.t.now - timedelta(days=days)

    def _early(self) -> datetime:
        return self.t.start + timedelta(hours=1)

    # stories: each returns the plate's first agent

    def _active(self, ref: PlateRef, prefer: str | None) -> str:
        return self._bind(self._moment(self._early(), self._days_ago(3)), ref, prefer=prefer)

    def _ended(self, ref: PlateRef, prefer: str | None) -> str:
        bound = self._moment(self._early(), self._days_ago(20))
        agent = self._bind(bound, ref, prefer=prefer)
        self._add(self._moment(bound + timedelta(days=2), self._days_ago(4)), "unbind", agent, ref)
        return agent

    def _switched(self, ref: PlateRef, prefer: str | None) -> str:
        """The driver moves to another app: unbind, then the new bind queues behind the end."""
        bound = self._moment(self._early(), self._days_ago(16))
        agent = self._bind(bound, ref, prefer=prefer)
        unbound = self._moment(bound + timedelta(days=2), self._days_ago(5))
        self._add(unbound, "unbind", agent, ref)
        self._bind(unbound + timedelta(minutes=self.rng.randint(10, 300)), ref, exclude=agent)
        return agent

    def _transferred(self, ref: PlateRef, prefer: str | None) -> str:
        bound = self._moment(self._early(), self._days_ago(14))
        agent = self._bind(bound, ref, prefer=prefer)
        self._transfer(self._moment(bound + timedelta(days=3), self._days_ago(3)), ref, agent)
        return agent

    def _transfer(self, at: datetime, ref: PlateRef, holder: str) -> None:
        """The owner gets a code in the portal and gives it to the new app a little later."""
        self._add(at, "issue_code", "", ref)
        redeemed = min(at + timedelta(minutes=self.rng.randint(3, 90)), self.t.now)
        self._add(redeemed, "bind_with_code", self._agent(redeemed, exclude=holder), ref)

    def _cancelled(self, ref: PlateRef, prefer: str | None) -> str:
        """Bound and unbound before the cut-over; often bound again elsewhere days later."""
        first = self.t.start.astimezone(TAIPEI).date() + timedelta(days=1)
        day = first + timedelta(days=self.rng.randint(0, DAYS - 4))
        bound = datetime.combine(
            day, time(self.rng.randint(8, 19), self.rng.randint(0, 59)), TAIPEI
        )
        agent = self._bind(bound, ref, prefer=prefer)
        unbound = bound + timedelta(minutes=self.rng.randint(5, 120))
        self._add(unbound, "unbind", agent, ref)
        if self.rng.random() < 0.5:
            self._bind(
                self._moment(unbound + timedelta(days=1), self._days_ago(1)), ref, exclude=agent
            )
        return agent

    def _ending(self, ref: PlateRef, prefer: str | None) -> str:
        agent = self._bind(self._moment(self._early(), self._days_ago(3)), ref, prefer=prefer)
        self._add(self._moment(self.t.fresh_from, self.t.now), "unbind", agent, ref)
        return agent

    def _queued(self, ref: PlateRef, prefer: str | None) -> str:
        """Unbound today; another app's bind is queued to start exactly at the end."""
        agent = self._bind(self._moment(self._early(), self._days_ago(3)), ref, prefer=prefer)
        unbound = self._moment(self.t.fresh_from, self.t.now - timedelta(minutes=30))
        self._add(unbound, "unbind", agent, ref)
        self._bind(self._moment(unbound, self.t.now), ref, exclude=agent)
        return agent

    def _transferring(self, ref: PlateRef, prefer: str | None) -> str:
        agent = self._bind(self._moment(self._early(), self._days_ago(3)), ref, prefer=prefer)
        self._transfer(self._moment(self.t.fresh_from, self.t.now), ref, agent)
        return agent

    def _scheduled(self, ref: PlateRef, prefer: str | None) -> str:
        return self._bind(self._moment(self.t.fresh_from, self.t.now), ref, prefer=prefer)

    def _suspended_takeover(self, ref: PlateRef, prefer: str | None) -> str:
        """Held by the agent that gets suspended; another app binds it meanwhile, no code."""
        bound = self._moment(self._early(), self.t.suspended_from - timedelta(days=2))
        self._add(bound, "bind", SUSPENDED_AGENT, ref)
        minute = timedelta(minutes=1)
        taken = self._moment(self.t.suspended_from + minute, self.t.suspended_until - minute)
        self._bind(taken, ref, exclude=SUSPENDED_AGENT)
        return SUSPENDED_AGENT
