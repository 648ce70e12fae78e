"""What the portal says about a plate, per scope: who holds it, what changes when, what to do.

Facts are read through the registry's services; the advice (``Situation``) is a pure function of
those facts, so the page, its tests and any later e-mail say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from platebind.registry import agents, queries
from platebind.registry.models import Agent, Binding, Scope
from platebind.registry.rules import end_effective_at, request_effective_at
from platebind.registry.scopes import calendar_for, list_scopes, policy_of


class Situation(StrEnum):
    """The plate's state in one scope, as the driver needs to act on it."""

    UNBOUND = "unbound"  # nobody holds it and nothing is scheduled: bind in any app
    HELD = "held"  # an agent holds it with no end: unbind there, or use a transfer code
    HELD_BY_SUSPENDED = "held_by_suspended"  # any app may bind it now, no code needed
    ENDING = "ending"  # the holder's binding ends at a known time; nothing follows yet
    MOVING = "moving"  # the holder's binding ends and the next agent's starts at that time
    STARTING = "starting"  # nobody holds it now; a binding starts at a known time


@dataclass(frozen=True)
class AgentCard:
    """An agent as drivers see it: names, support and how to unbind in its app."""

    id: str
    name: str
    name_en: str | None
    status: str
    support_phone: str | None
    support_url: str | None
    unbind_instructions: str | None
    unbind_url: str | None

    @classmethod
    def of(cls, agent: Agent) -> AgentCard:
        return cls(
            id=agent.id,
            name=agent.name,
            name_en=agent.name_en,
            status=agent.status,
            support_phone=agent.support_phone,
            support_url=agent.support_url,
            unbind_instructions=agent.unbind_instructions,
            unbind_url=agent.unbind_url,
        )

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


@dataclass(frozen=True)
class ScopeLabel:
    """A scope as drivers see it: its name in their language."""

    id: str
    name: str
    name_en: str | None

    @classmethod
    def of(cls, scope: Scope) -> ScopeLabel:
        return cls(scope.id, scope.name, scope.name_en)

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


@dataclass(frozen=True)
class ScopeState:
    scope: ScopeLabel
    situation: Situation
    holder: AgentCard | None
    ends_at: datetime | None
    next_holder: AgentCard | None
    starts_at: datetime | None
    # If the driver acted now: when an unbind would end the holder's binding, and when a new
    # bind (or a transfer with a code) would take effect.
    unbind_now_ends_at: datetime | None
    bind_now_starts_at: datetime

    @property
    def pending_at(self) -> datetime | None:
        """The time of the next scheduled change (the one a member can ask to be told of)."""
        if self.situation in (Situation.ENDING, Situation.MOVING):
            return self.ends_at
        return self.starts_at if self.situation is Situation.STARTING else None

    @property
    def scope_id(self) -> str:
        return self.scope.id

    def scope_display_name(self, locale: str) -> str:
        return self.scope.display_name(locale)


@dataclass(frozen=True)
class PlateOverview:
    vehicle_type: str
    plate: str
    owned: bool
    scopes: list[ScopeState]


def situation(holder: Binding | None, upcoming: list[Binding], holder_status: str) -> Situation:
    """The driver's situation from the holder's binding and the scheduled ones."""
    if holder is None:
        return Situation.STARTING if upcoming else Situation.UNBOUND
    if holder.valid_to is not None:
        return Situation.MOVING if upcoming else Situation.ENDING
    return Situation.HELD if holder_status == "active" else Situation.HELD_BY_SUSPENDED


def scope_state(
    session: Session, scope: Scope, vehicle_type: str, plate: str, now: datetime
) -> ScopeState:
    found = queries.lookup(session, scope.id, vehicle_type, plate, now)
    holder = found.holder
    upcoming = [b for b in found.upcoming if b.valid_to != b.valid_from]
    holder_card = AgentCard.of(agents.get_agent(session, holder.agent_id)) if holder else None
    following = upcoming[0] if upcoming else None
    policy, calendar = policy_of(scope), calendar_for(session, scope)
    return ScopeState(
        scope=ScopeLabel.of(scope),
        situation=situation(holder, upcoming, holder_card.status if holder_card else "active"),
        holder=holder_card,
        ends_at=holder.valid_to if holder else None,
        next_holder=AgentCard.of(agents.get_agent(session, following.agent_id))
        if following
        else None,
        starts_at=following.valid_from if following else None,
        unbind_now_ends_at=end_effective_at(now, holder.valid_from, policy, calendar)
        if holder is not None and holder.valid_to is None
        else None,
        bind_now_starts_at=request_effective_at(now, policy, calendar),
    )


def plate_overview(
    session: Session, vehicle_type: str, plate: str, now: datetime, *, owned: bool
) -> PlateOverview:
    """The plate in every scope, in scope order."""
    states = [scope_state(session, s, vehicle_type, plate, now) for s in list_scopes(session)]
    return PlateOverview(vehicle_type, plate, owned, states)
