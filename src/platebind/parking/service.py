"""Parking lots: import the city's feed, list the lots, show one. Services never commit.

The import is all-or-nothing and idempotent: every lot of the file is checked (and its tariff
text read) before anything is written, then lots are upserted by id in batches — a re-import
updates them, never duplicates them; each lot's entrances and tariff readings are replaced by
the file's. Lots of the scope that the file no longer lists are left as they are (counted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session

from platebind.clock import Clock
from platebind.db import created_at_default, dialect_insert, lock_key
from platebind.parking.errors import LotFileInvalid, LotNotFound
from platebind.parking.models import Lot, LotEntrance, LotTariff
from platebind.parking.schemas import ImportSummary, LotOut, LotSummaryOut, capacities_of
from platebind.parking.taipei import Check, LotError, LotRecord, check_lot
from platebind.plates import TariffClass
from platebind.registry import audit, scopes
from platebind.registry.audit import Actor
from platebind.tariffs.errors import TariffFileInvalid
from platebind.tariffs.feed import load_feed
from platebind.tariffs.model import tariff_to_json
from platebind.tariffs.payex import Status

BATCH_SIZE = 400
# Columns an import rewrites on a lot it already has (not its creation time).
_UPDATED = (
    "scope_id", "name", "district", "address", "capacity_car", "capacity_motorcycle",
    "capacity_heavy_motorcycle", "payex", "imported_at",
)  # fmt: skip
_TARIFF_UPDATED = ("status", "tariff", "draft", "unread", "problems", "conflicts")


def read_feed(path: Path) -> list[dict[str, Any]]:
    """The lots of a feed file; a file that is not one is a :class:`LotFileInvalid`."""
    try:
        return load_feed(path)
    except TariffFileInvalid as exc:
        raise LotFileInvalid(f"{exc.detail}; nothing was imported") from exc


def _batches(records: Sequence[LotRecord], size: int) -> Iterator[Sequence[LotRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def _checked(
    lots: Sequence[Mapping[str, Any]], progress: Callable[[int], object]
) -> list[LotRecord]:
    """Every lot checked and its tariff read; a :class:`LotFileInvalid` listing the problems."""
    if not lots:
        raise LotFileInvalid("the file lists no lots; nothing was imported")
    check, records = Check(), []
    for index, raw in enumerate(lots, start=1):
        if not isinstance(raw, Mapping):
            check.add(LotError(index, None, None, "is not an object"))
        elif (record := check_lot(index, raw, check)) is not None:
            records.append(record)
        progress(1)
    if check.count:
        unlisted = check.count - len(check.errors)
        more = f" ({unlisted} more not listed)" if unlisted else ""
        errors = "1 error" if check.count == 1 else f"{check.count} errors"
        raise LotFileInvalid(
            f"the file has {errors}{more}; nothing was imported",
            errors=[str(e) for e in check.errors],
            unlisted_errors=unlisted,
        )
    return records


def _lot_row(record: LotRecord, scope_id: str, now: datetime) -> dict[str, Any]:
    capacities = record.capacities
    return {
        "id": record.id,
        "scope_id": scope_id,
        "name": record.name,
        "district": record.district,
        "address": record.address,
        "capacity_car": capacities[TariffClass.CAR],
        "capacity_motorcycle": capacities[TariffClass.MOTORCYCLE],
        "capacity_heavy_motorcycle": capacities[TariffClass.HEAVY_MOTORCYCLE],
        "payex": record.payex,
        "imported_at": now,
        "created_at": created_at_default(),
    }


def _tariff_rows(record: LotRecord) -> Iterator[dict[str, Any]]:
    for tariff_class, reading in record.reading.classes.items():
        yield {
            "lot_id": record.id,
            "tariff_class": tariff_class.value,
            "status": reading.status.value,
            "tariff": None if reading.tariff is None else tariff_to_json(reading.tariff),
            "draft": reading.draft,
            "unread": list(reading.unread),
            "problems": list(reading.problems),
            "conflicts": list(reading.conflicts),
        }


def _upsert(
    session: Session,
    model: type[Any],
    rows: list[dict[str, Any]],
    keys: Sequence[str],
    columns: Sequence[str],
) -> None:
    """``INSERT … ON CONFLICT DO UPDATE``, one statement executed for many rows (the driver
    batches them; a multi-row VALUES clause would be compiled anew for every batch)."""
    table = cast(Table, model.__table__)
    statement = dialect_insert(session)(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: statement.excluded[c] for c in columns}
    )
    session.execute(statement, rows)


def _write_batch(
    session: Session,
    now: datetime,
    scope_id: str,
    batch: Sequence[LotRecord],
    summary: ImportSummary,
) -> None:
    ids = [record.id for record in batch]
    existing = set(session.scalars(select(Lot.id).where(Lot.id.in_(ids))))
    _upsert(session, Lot, [_lot_row(r, scope_id, now) for r in batch], ["id"], _UPDATED)
    session.execute(delete(LotEntrance).where(LotEntrance.lot_id.in_(ids)))
    entrances = [
        {"lot_id": r.id, "position": e.position, "latitude": e.latitude,
         "longitude": e.longitude, "address": e.address}
        for r in batch for e in r.entrances
    ]  # fmt: skip
    if entrances:
        session.execute(insert(cast(Table, LotEntrance.__table__)), entrances)
    tariffs = [row for r in batch for row in _tariff_rows(r)]
    _upsert(session, LotTariff, tariffs, ["lot_id", "tariff_class"], _TARIFF_UPDATED)
    summary.updated += len(existing)
    summary.inserted += len(batch) - len(existing)
    for record in batch:
        summary.entrances += len(record.entrances)
        summary.entrances_unknown += record.unknown_entrances
        for tariff_class, reading in record.reading.classes.items():
            summary.tariffs[tariff_class][reading.status] += 1


def import_taipei(
    session: Session,
    clock: Clock,
    actor: Actor,
    lots: Sequence[Mapping[str, Any]],
    scope_id: str,
    progress: Callable[[int], object] = lambda _lots: None,
) -> ImportSummary:
    """Import the lots of the Taipei feed into ``scope_id`` (see the module), all or nothing.

    ``progress`` is told each lot checked. Raises ``ScopeNotFound`` or ``LotFileInvalid``.
    """
    now = clock.now()
    scopes.get_scope(session, scope_id)
    lock_key(session, "lots.import")  # one import at a time
    records = _checked(lots, progress)
    summary = ImportSummary(lots=len(records))
    for batch in _batches(records, BATCH_SIZE):
        _write_batch(session, now, scope_id, batch, summary)
    in_scope = session.scalar(select(func.count()).where(Lot.scope_id == scope_id)) or 0
    summary.not_in_file = in_scope - len(records)
    audit.record(session, actor, now, "lots.import", scope_id=scope_id, detail=summary.as_dict())
    return summary


def list_lots(session: Session, scope_id: str | None = None) -> list[LotSummaryOut]:
    query = select(Lot).order_by(Lot.id)
    if scope_id is not None:
        query = query.where(Lot.scope_id == scope_id)
    lots = list(session.scalars(query))
    statuses: dict[str, dict[TariffClass, Status]] = {lot.id: {} for lot in lots}
    readings = select(LotTariff.lot_id, LotTariff.tariff_class, LotTariff.status).join(Lot)
    if scope_id is not None:
        readings = readings.where(Lot.scope_id == scope_id)
    for lot_id, tariff_class, status in session.execute(readings):
        statuses[lot_id][TariffClass(tariff_class)] = Status(status)
    return [
        LotSummaryOut(
            id=lot.id,
            name=lot.name,
            district=lot.district,
            scope=lot.scope_id,
            capacities=capacities_of(lot),
            tariffs=statuses[lot.id],
        )
        for lot in lots
    ]


def get_lot(session: Session, lot_id: str) -> LotOut:
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise LotNotFound(f"no parking lot {lot_id!r}")
    entrances = session.scalars(
        select(LotEntrance).where(LotEntrance.lot_id == lot_id).order_by(LotEntrance.position)
    )
    tariffs = session.scalars(
        select(LotTariff).where(LotTariff.lot_id == lot_id).order_by(LotTariff.tariff_class)
    )
    return LotOut.of(lot, list(entrances), list(tariffs))
