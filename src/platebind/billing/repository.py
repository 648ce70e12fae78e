"""Read-side queries of charges for listings (agents' API, the authority's CLI)."""

from __future__ import annotations

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from platebind import pagination
from platebind.billing.models import CHARGE_STATUSES, Charge
from platebind.errors import InvalidInput

MAX_PAGE = 200


def encode_cursor(charge: Charge) -> str:
    return pagination.encode_cursor(charge.requested_at, charge.id)


def list_charges(
    session: Session,
    *,
    agent_id: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    newest_first: bool = False,
) -> tuple[list[Charge], str | None]:
    """One page of charges (of one agent, or all) in request order, and the next page's
    cursor (None at the end). Corrections are charges too and are listed with the rest."""
    if status is not None and status not in CHARGE_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(CHARGE_STATUSES)}", field="status")
    stmt = select(Charge)
    if agent_id is not None:
        stmt = stmt.where(Charge.agent_id == agent_id)
    if status is not None:
        stmt = stmt.where(Charge.status == status)
    position = tuple_(Charge.requested_at, Charge.id)
    if cursor is not None:
        after = tuple(pagination.decode_cursor(cursor))
        stmt = stmt.where(position < after if newest_first else position > after)
    if newest_first:
        stmt = stmt.order_by(Charge.requested_at.desc(), Charge.id.desc())
    else:
        stmt = stmt.order_by(Charge.requested_at, Charge.id)
    page = max(1, min(limit, MAX_PAGE))
    rows = list(session.scalars(stmt.limit(page + 1)))
    more = len(rows) > page
    rows = rows[:page]
    return rows, (encode_cursor(rows[-1]) if more else None)
