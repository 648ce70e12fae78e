"""Read-side queries of bindings for listings (agents' API)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from platebind import pagination
from platebind.registry.models import Binding
from platebind.registry.rules import BindingStatus

MAX_PAGE = 200


def status_condition(status: BindingStatus, at: datetime) -> ColumnElement[bool]:
    """SQL for "has this derived status at ``at``" (same precedence as ``binding_status``)."""
    not_cancelled = or_(Binding.valid_to.is_(None), Binding.valid_to != Binding.valid_from)
    conditions: dict[BindingStatus, ColumnElement[bool]] = {
        BindingStatus.CANCELLED: Binding.valid_to == Binding.valid_from,
        BindingStatus.SCHEDULED: and_(Binding.valid_from > at, not_cancelled),
        BindingStatus.ACTIVE: and_(Binding.valid_from <= at, Binding.valid_to.is_(None)),
        BindingStatus.ENDING: and_(Binding.valid_from <= at, Binding.valid_to > at),
        BindingStatus.ENDED: and_(Binding.valid_to <= at, not_cancelled),
    }
    return conditions[status]


def encode_cursor(binding: Binding) -> str:
    return pagination.encode_cursor(binding.created_at, binding.id)


def list_bindings(
    session: Session,
    *,
    agent_id: str,
    at: datetime,
    scope_id: str | None = None,
    vehicle_type: str | None = None,
    plate: str | None = None,
    status: BindingStatus | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Binding], str | None]:
    """One page of the agent's bindings, oldest first, and the cursor of the next page."""
    stmt = select(Binding).where(Binding.agent_id == agent_id)
    if scope_id is not None:
        stmt = stmt.where(Binding.scope_id == scope_id)
    if vehicle_type is not None:
        stmt = stmt.where(Binding.vehicle_type == vehicle_type)
    if plate is not None:
        stmt = stmt.where(Binding.plate == plate)
    if status is not None:
        stmt = stmt.where(status_condition(status, at))
    if cursor is not None:
        stmt = stmt.where(
            tuple_(Binding.created_at, Binding.id) > tuple(pagination.decode_cursor(cursor))
        )
    page = max(1, min(limit, MAX_PAGE))
    rows = list(session.scalars(stmt.order_by(Binding.created_at, Binding.id).limit(page + 1)))
    more = len(rows) > page
    rows = rows[:page]
    return rows, (encode_cursor(rows[-1]) if more else None)
