"""Settlement statements: per agent per Taipei calendar day (00:00–24:00), the settle events
of that day as lines, and totals that are the sums of those lines.

A line is a settle event (paid, declined, correction) dated by when it happened, so once a day
is over its statement never changes. Statements are streamed: lines are read with a
server-side cursor (PostgreSQL) or incrementally (SQLite) and rendered in chunks, so a day of
a million lines needs the memory of one chunk.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from platebind.billing.errors import StatementDayUnavailable, StatementNotFinal
from platebind.billing.models import SETTLE_KINDS, Charge, SettleEvent
from platebind.clock import TAIPEI, taipei, taipei_iso
from platebind.db import UTCDateTime
from platebind.registry import agents

# Nothing that began inside a day can still commit this long after it ended (requests time
# out well before), so from then on the day's statement is final.
FINAL_AFTER = timedelta(minutes=5)
FIRST_DAY = date(2000, 1, 1)
CURRENCY = "TWD"
CHUNK = 1000
COLUMNS = (
    "at", "kind", "charge_id", "corrects_charge_id", "source", "source_id", "vehicle_type",
    "plate", "place", "started_at", "ended_at", "amount", "reference", "reason",
)  # fmt: skip
_TIMES = frozenset({"at", "started_at", "ended_at"})


@dataclass(frozen=True)
class Statement:
    """Which statement: an agent, a Taipei day, the UTC instants it spans, and whether it is
    final (over, and can no longer change)."""

    agent_id: str
    day: date
    starts_at: datetime
    ends_at: datetime
    final: bool


def day_span(day: date) -> tuple[datetime, datetime]:
    """00:00 to 24:00 of ``day`` in Taipei, as UTC instants."""
    start = datetime.combine(day, time(), TAIPEI)
    end = datetime.combine(day + timedelta(days=1), time(), TAIPEI)
    return start.astimezone(UTC), end.astimezone(UTC)


def statement_of(agent_id: str, day: date, now: datetime) -> Statement:
    """The statement of ``day``; a day that has not begun in Taipei has none."""
    today = taipei(now).date()
    if not FIRST_DAY <= day <= today:
        raise StatementDayUnavailable(
            f"statements exist for {FIRST_DAY} to today ({today}) in Taipei, not {day}",
            field="date",
        )
    start, end = day_span(day)
    return Statement(agent_id, day, start, end, final=now >= end + FINAL_AFTER)


class Line(NamedTuple):
    """A statement line as read (UTC times, UUIDs); ``line_json``/``line_csv`` render it."""

    at: datetime
    kind: str
    charge_id: Any
    corrects_charge_id: Any
    source: str
    source_id: str
    vehicle_type: str
    plate: str
    place: str | None
    started_at: datetime | None
    ended_at: datetime | None
    amount: int
    reference: str | None
    reason: str | None


_LINES = (
    select(
        SettleEvent.at,
        SettleEvent.kind,
        SettleEvent.charge_id,
        Charge.corrects_charge_id,
        Charge.source,
        Charge.source_id,
        Charge.vehicle_type,
        Charge.plate,
        Charge.place,
        Charge.started_at,
        Charge.ended_at,
        SettleEvent.amount,
        Charge.reference,
        Charge.reason,
    )
    .join(Charge, Charge.id == SettleEvent.charge_id)
    .where(
        SettleEvent.agent_id == bindparam("agent_id"),
        SettleEvent.at >= bindparam("starts_at", type_=UTCDateTime),
        SettleEvent.at < bindparam("ends_at", type_=UTCDateTime),
    )
    .order_by(SettleEvent.at, SettleEvent.id)
)


def _span_params(statement: Statement) -> dict[str, Any]:
    return {
        "agent_id": statement.agent_id,
        "starts_at": statement.starts_at,
        "ends_at": statement.ends_at,
    }


def lines(session: Session, statement: Statement) -> Iterator[Line]:
    """The statement's lines in order (by time, then as written), streamed."""
    result = session.execute(_LINES.execution_options(yield_per=CHUNK), _span_params(statement))
    for row in result:
        yield Line._make(row)


def count_lines(session: Session, statement: Statement) -> int:
    stmt = select(func.count()).where(
        SettleEvent.agent_id == statement.agent_id,
        SettleEvent.at >= statement.starts_at,
        SettleEvent.at < statement.ends_at,
    )
    return int(session.scalar(stmt) or 0)


@dataclass
class Totals:
    """Count and sum per kind, accumulated from the very lines rendered, so they add up."""

    count: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SETTLE_KINDS, 0))
    amount: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SETTLE_KINDS, 0))

    def add(self, line: Line) -> None:
        self.count[line.kind] += 1
        self.amount[line.kind] += line.amount

    def as_dict(self) -> dict[str, Any]:
        kinds = {k: {"count": self.count[k], "amount": self.amount[k]} for k in SETTLE_KINDS}
        return {
            **kinds,
            "net": self.amount["paid"] + self.amount["correction"],
            "lines": sum(self.count.values()),
        }


def _local(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(TAIPEI)


def line_json(line: Line) -> dict[str, Any]:
    """The line as the JSON statement has it (orjson renders times and UUIDs)."""
    doc = line._asdict()
    for name in _TIMES:
        doc[name] = _local(doc[name])
    return doc


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(TAIPEI).isoformat()


def line_csv(line: Line) -> tuple[object, ...]:
    """The line's CSV cells in ``COLUMNS`` order; the csv writer renders None as an empty
    cell and the rest with ``str``. Spelled out: this runs once per line of a statement."""
    return (
        _iso(line.at),
        line.kind,
        line.charge_id,
        line.corrects_charge_id,
        line.source,
        line.source_id,
        line.vehicle_type,
        line.plate,
        line.place,
        _iso(line.started_at),
        _iso(line.ended_at),
        line.amount,
        line.reference,
        line.reason,
    )


def header_json(statement: Statement) -> dict[str, Any]:
    return {
        "agent": statement.agent_id,
        "date": statement.day.isoformat(),
        "timezone": "Asia/Taipei",
        "starts_at": _local(statement.starts_at),
        "ends_at": _local(statement.ends_at),
        "final": statement.final,
        "currency": CURRENCY,
    }


def render_json(statement: Statement, rows: Iterable[Line]) -> Iterator[bytes]:
    """The JSON statement in chunks of ``CHUNK`` lines: the header fields, ``lines``, then
    ``totals``. Lines are appended to one buffer as they are encoded: orjson's results carry
    kilobytes of spare capacity each, so holding a chunk of them would cost megabytes."""
    totals = Totals()
    buffer = bytearray(orjson.dumps(header_json(statement))[:-1] + b',"lines":[')
    pending, separator = 0, b""
    for line in rows:
        totals.add(line)
        buffer += separator + orjson.dumps(line_json(line))
        separator = b","
        pending += 1
        if pending >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
            pending = 0
    buffer += b'],"totals":' + orjson.dumps(totals.as_dict()) + b"}"
    yield bytes(buffer)


def render_csv(
    rows: Iterable[Line], *, on_chunk: Callable[[int], object] | None = None
) -> Iterator[bytes]:
    """The CSV statement in chunks: a header row, then one row per line (UTF-8, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    pending = 0
    for line in rows:
        writer.writerow(line_csv(line))
        pending += 1
        if pending >= CHUNK:
            yield _drain(buffer)
            if on_chunk is not None:
                on_chunk(pending)
            pending = 0
    yield _drain(buffer)
    if on_chunk is not None and pending:
        on_chunk(pending)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data


def stream(session: Session, statement: Statement, media: str) -> Iterator[bytes]:
    """The statement rendered as ``json`` or ``csv``."""
    rows = lines(session, statement)
    return render_csv(rows) if media == "csv" else render_json(statement, rows)


# ---------------------------------------------------------------------------------------------
# Export: every agent's CSV file of a day


@dataclass(frozen=True)
class ExportedFile:
    agent_id: str
    path: Path
    lines: int


def export_day(
    session: Session,
    now: datetime,
    day: date,
    directory: Path,
    *,
    on_total: Callable[[int], object] | None = None,
    on_lines: Callable[[int], object] | None = None,
) -> list[ExportedFile]:
    """Write ``<agent>-<day>.csv`` for every agent (an agent without lines gets a file with
    the header only: "nothing that day" is an answer too). Only a final day is exported.

    Each file is written beside its final name and renamed into place, so a reader never
    sees half a statement. ``on_total`` gets the number of lines of all files before the
    first is written, ``on_lines`` each chunk's count as it is written (progress bars).
    """
    span = statement_of("", day, now)
    if not span.final:
        final_from = taipei_iso(span.ends_at + FINAL_AFTER)
        raise StatementNotFinal(
            f"{day} is not over: its statements are final from {final_from}",
            final_from=final_from,
        )
    statements = [statement_of(a.id, day, now) for a in agents.list_agents(session)]
    if on_total is not None:
        on_total(sum(count_lines(session, s) for s in statements))
    directory.mkdir(parents=True, exist_ok=True)
    return [_write_csv(session, s, directory, on_lines) for s in statements]


def _write_csv(
    session: Session,
    statement: Statement,
    directory: Path,
    on_lines: Callable[[int], object] | None,
) -> ExportedFile:
    path = directory / f"{statement.agent_id}-{statement.day.isoformat()}.csv"
    written = 0

    def counted(count: int) -> None:
        nonlocal written
        written += count
        if on_lines is not None:
            on_lines(count)

    _remove_leftovers(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in render_csv(lines(session, statement), on_chunk=counted):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())  # the data is on disk before the name points at it
        os.replace(temporary, path)
        _sync_directory(directory)  # and the rename survives a power cut
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return ExportedFile(statement.agent_id, path, written)


def _remove_leftovers(path: Path) -> None:
    """Temporary files of ``path`` left by an export that was killed before its rename."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*"):
        leftover.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
