"""A member's plates: the 北市停車費 list, the plate page, transfer codes and history.

Who sees what (DESIGN "Portal"): any member sees, for a plate on their list, the holder's name
and the pending change times; the history, the transfer codes and notifications are for the
plate's owner only. Adding a plate is the look-up, so it is the step that is rate-limited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from platebind.clock import Clock
from platebind.errors import DomainError, NotFound
from platebind.portal.accounts import owns
from platebind.portal.models import Member, MemberPlate
from platebind.portal.overview import AgentCard, PlateOverview, ScopeLabel, plate_overview
from platebind.ratelimit import Limit
from platebind.registry import agents, queries, service, transfers
from platebind.registry.audit import Actor
from platebind.registry.models import Binding, TransferCode
from platebind.registry.scopes import get_scope
from platebind.registry.service import PlateKey

# Looking up plates one does not own is what the city portal shows anyone; limiting it per
# member (and per address, in the view) keeps it from becoming a registry scraper.
LOOKUPS_PER_MEMBER = Limit("portal.lookup.member", 30, timedelta(hours=1))
LOOKUPS_PER_ADDRESS = Limit("portal.lookup.address", 60, timedelta(hours=1))
MAX_PLATES_PER_MEMBER = 50


class PlateNotOnList(NotFound):
    code = "plate_not_on_list"
    title = "This plate is not on your list"


class NotPlateOwner(DomainError):
    code = "not_plate_owner"
    title = "Only the plate's owner may do this"
    status = 403


class PlateListFull(DomainError):
    code = "plate_list_full"
    title = "The plate list is full"
    status = 422


def citizen(member: Member, request_id: str | None = None) -> Actor:
    return Actor("citizen", str(member.id), request_id)


def identify(vehicle_type: str, plate: str) -> PlateKey:
    """Normalised and validated (``invalid_plate``), as every other way into the registry."""
    return service.plate_key("*", vehicle_type, plate)


def my_plates(session: Session, member: Member) -> list[MemberPlate]:
    stmt = (
        select(MemberPlate)
        .where(MemberPlate.member_id == member.id)
        .order_by(MemberPlate.added_at, MemberPlate.plate)
    )
    return list(session.scalars(stmt))


def _listed(session: Session, member: Member, key: PlateKey) -> MemberPlate | None:
    return session.get(MemberPlate, (member.id, key.vehicle_type, key.plate))


def is_listed(session: Session, member: Member, key: PlateKey) -> bool:
    return _listed(session, member, key) is not None


def add_plate(session: Session, member: Member, key: PlateKey, now: datetime) -> bool:
    """Put the plate on the member's list; False when it was there already."""
    if _listed(session, member, key) is not None:
        return False
    if len(my_plates(session, member)) >= MAX_PLATES_PER_MEMBER:
        raise PlateListFull(f"a list holds at most {MAX_PLATES_PER_MEMBER} plates")
    session.add(
        MemberPlate(
            member_id=member.id, vehicle_type=key.vehicle_type, plate=key.plate, added_at=now
        )
    )
    return True


def remove_plate(session: Session, member: Member, key: PlateKey) -> None:
    session.execute(
        delete(MemberPlate).where(
            MemberPlate.member_id == member.id,
            MemberPlate.vehicle_type == key.vehicle_type,
            MemberPlate.plate == key.plate,
        )
    )


def overview(session: Session, member: Member, key: PlateKey, now: datetime) -> PlateOverview:
    """The plate page's facts; only for plates on the member's list (else ``plate_not_on_list``)."""
    if not is_listed(session, member, key):
        raise PlateNotOnList(f"{key.plate} ({key.vehicle_type}) is not on your list")
    owned = owns(session, member, key.vehicle_type, key.plate)
    return plate_overview(session, key.vehicle_type, key.plate, now, owned=owned)


def require_owner(session: Session, member: Member, key: PlateKey) -> None:
    if not owns(session, member, key.vehicle_type, key.plate):
        raise NotPlateOwner(
            f"the vehicle registry does not list you as the owner of {key.plate} "
            f"({key.vehicle_type})"
        )


def issue_transfer_code(
    session: Session, clock: Clock, member: Member, key: PlateKey, scope_id: str, request_id: str
) -> transfers.IssuedCode:
    """A new code (older ones stop working); the owner's only."""
    require_owner(session, member, key)
    return service.issue_transfer_code(
        session, clock, citizen(member, request_id), scope_id, key.vehicle_type, key.plate
    )


@dataclass(frozen=True)
class CodeRecord:
    """A code as its owner sees it later: never the code itself (only its hash is kept)."""

    scope: ScopeLabel
    issued_at: datetime
    expires_at: datetime
    state: str  # usable, used, voided, expired
    used_at: datetime | None
    used_by: AgentCard | None


def _state(code: TransferCode, now: datetime) -> str:
    if code.used_at is not None:
        return "used"
    if code.voided_at is not None:
        return "voided"
    return "expired" if code.expires_at <= now else "usable"


def transfer_codes(
    session: Session, member: Member, key: PlateKey, now: datetime
) -> list[CodeRecord]:
    """The plate's codes, newest first; the owner's only."""
    require_owner(session, member, key)
    return [
        CodeRecord(
            _label(session, c.scope_id),
            c.issued_at,
            c.expires_at,
            _state(c, now),
            c.used_at,
            _card(session, c.used_by_agent_id) if c.used_by_agent_id else None,
        )
        for c in reversed(transfers.codes_for_plate(session, key.vehicle_type, key.plate))
    ]


def _label(session: Session, scope_id: str) -> ScopeLabel:
    return ScopeLabel.of(get_scope(session, scope_id))


def _card(session: Session, agent_id: str) -> AgentCard:
    return AgentCard.of(agents.get_agent(session, agent_id))


def history(
    session: Session, member: Member, key: PlateKey
) -> list[tuple[ScopeLabel, list[tuple[Binding, AgentCard]]]]:
    """The binding intervals per scope (oldest first), with their agents; the owner's only."""
    require_owner(session, member, key)
    timeline: dict[str, list[tuple[Binding, AgentCard]]] = {}
    for binding in queries.plate_history(session, key.vehicle_type, key.plate):
        card = _card(session, binding.agent_id)
        timeline.setdefault(binding.scope_id, []).append((binding, card))
    return [(_label(session, scope_id), rows) for scope_id, rows in timeline.items()]
