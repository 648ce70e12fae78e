"""Lot-operator keys: what a lot's gates authenticate with (``Authorization: Bearer``).

Keys live in the registry's ``api_keys`` with kind ``lot`` and the lot's id as subject; only
their SHA-256 is kept, so a key is shown once. A lot may have several (one per controller):
issuing one does not revoke the others.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from platebind.clock import Clock
from platebind.parking.errors import LotNotFound
from platebind.parking.models import Lot
from platebind.registry import agents, audit
from platebind.registry.audit import Actor

LOT_KEY = "lot"


def check_lot(session: Session, lot_id: str) -> None:
    """``lot_not_found`` unless the lot exists."""
    if session.get(Lot, lot_id) is None:
        raise LotNotFound(f"no parking lot {lot_id!r}")


def issue_lot_key(session: Session, clock: Clock, actor: Actor, lot_id: str) -> str:
    """A new key for ``lot_id``'s gates (``lot_not_found`` for an unknown lot)."""
    check_lot(session, lot_id)
    key = agents.issue_key(session, clock, kind=LOT_KEY, subject_id=lot_id)
    audit.record(session, actor, clock.now(), "lot.key_issue", object_id=lot_id)
    return key
