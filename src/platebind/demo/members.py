"""A demo portal member who owns a few of the demo world's plates, so that ``make run`` shows
the portal with something in it: a held plate (transfer code), one whose binding is ending or
moving (exact time, notice), a motorcycle, and a plate someone else owns (holder's name only)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from platebind.demo.profiles import DEMO_ADMIN
from platebind.portal import accounts, service
from platebind.portal.overview import Situation, scope_state
from platebind.registry.models import Binding
from platebind.registry.scopes import get_scope
from platebind.vehicles.service import import_extract

DEMO_EMAIL = "demo@platebind.example"
DEMO_PASSWORD = "platebind-demo"
# The textbook valid ID (check digit and all); a demo database holds only its keyed hash.
DEMO_NATIONAL_ID = "A123456789"
OTHER_OWNER_ID = "B223456782"
# What the demo member's list shows, in this order: (situation wanted, vehicle type, owned).
WANTED = (
    ((Situation.HELD,), "car", True),
    ((Situation.ENDING, Situation.MOVING), "car", True),
    ((Situation.HELD,), "motorcycle", True),
    ((Situation.HELD,), "car", False),
)


def _plates_in_lots(session: Session) -> list[tuple[str, str]]:
    stmt = (
        select(Binding.vehicle_type, Binding.plate)
        .where(Binding.scope_id == "tpe-lots")
        .distinct()
        # Letters first: the new-series plates (ABC-1234) most drivers have today.
        .order_by(Binding.vehicle_type, Binding.plate.desc())
    )
    return [(vehicle_type, plate) for vehicle_type, plate in session.execute(stmt)]


def pick_plates(session: Session, now: datetime) -> list[tuple[str, str, bool]]:
    """One plate for each entry of ``WANTED``: (vehicle type, plate, owned by the member)."""
    lots = get_scope(session, "tpe-lots")
    picked: list[tuple[str, str, bool]] = []
    candidates = _plates_in_lots(session)
    for situations, vehicle_type, owned in WANTED:
        taken = {(vt, plate) for vt, plate, _ in picked}
        for vt, plate in candidates:
            if vt != vehicle_type or (vt, plate) in taken:
                continue
            if scope_state(session, lots, vt, plate, now).situation in situations:
                picked.append((vt, plate, owned))
                break
    return picked


def add_demo_member(session: Session, now: datetime, id_key: str, clock: Any) -> dict[str, Any]:
    """Register the demo member, make them the owner of their plates, put those on the list."""
    picked = pick_plates(session, now)
    rows = [
        f"{vt},{plate},{DEMO_NATIONAL_ID if owned else OTHER_OWNER_ID}"
        for vt, plate, owned in picked
    ]
    extract = io.BytesIO(("vehicle_type,plate,owner_id\n" + "\n".join(rows) + "\n").encode())
    import_extract(session, clock, DEMO_ADMIN, extract, id_key)
    member = accounts.register(
        session, accounts.Registration(DEMO_EMAIL, DEMO_PASSWORD, DEMO_NATIONAL_ID), now, id_key
    )
    for position, (vt, plate, _) in enumerate(picked):
        # Added a minute apart, so the list shows them in the order above.
        added = now - timedelta(minutes=len(picked) - position)
        service.add_plate(session, member, service.identify(vt, plate), added)
    return {
        "email": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "plates": [
            f"{plate} ({vt}{'' if owned else ', not owned'})" for vt, plate, owned in picked
        ],
        # The held car parks once in the simulated traffic (and its charge is declined).
        "guests": [(vt, plate) for vt, plate, _owned in picked[:1]],
    }
