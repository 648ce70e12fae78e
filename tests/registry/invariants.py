"""Checks of the registry's invariants straight from the tables (shared by several tests)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from platebind.registry.models import Binding, BindingChange, Scope


def overlapping_bindings(session: Session) -> list[tuple[Binding, Binding]]:
    """Pairs of non-cancelled bindings of one plate and scope whose intervals overlap."""
    by_plate: dict[tuple[str, str, str], list[Binding]] = defaultdict(list)
    for b in session.scalars(select(Binding)):
        if b.valid_to is None or b.valid_to > b.valid_from:
            by_plate[(b.scope_id, b.vehicle_type, b.plate)].append(b)
    pairs = []
    for bindings in by_plate.values():
        ordered = sorted(bindings, key=lambda b: b.valid_from)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.valid_to is None or before.valid_to > after.valid_from:
                pairs.append((before, after))
    return pairs


def seq_gaps(session: Session) -> dict[str, list[int]]:
    """Per scope, the change-feed numbers missing between 1 and the scope's counter."""
    gaps: dict[str, list[int]] = {}
    for scope in session.scalars(select(Scope)):
        seqs = set(
            session.scalars(select(BindingChange.seq).where(BindingChange.scope_id == scope.id))
        )
        missing = sorted(set(range(1, scope.last_seq + 1)) - seqs)
        if missing or (seqs and max(seqs) > scope.last_seq):
            gaps[scope.id] = missing
    return gaps
