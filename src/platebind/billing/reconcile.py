"""Reconciliation: an agent's own list of a day's lines, as CSV, against our statement.

A line is identified by ``(charge_id, kind)``. Our lines the upload lacks are *missing*; the
upload's lines our statement lacks (or repeats) are *extra*, with the day the line is on in our
books when it is on another one (a settle near midnight); lines on both sides whose compared
columns differ are *mismatched*. Only the columns the upload has are compared, among
``amount`` (always there), ``at`` (as an instant, so any offset will do), ``reference`` and
``plate``; an empty cell means "none".
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from platebind.billing import statements
from platebind.billing.errors import StatementCsvInvalid
from platebind.billing.models import SETTLE_KINDS, SettleEvent
from platebind.billing.schemas import (
    ExtraLine,
    LineDifference,
    MismatchedLine,
    ReconcileReport,
    StatementLineOut,
)
from platebind.billing.statements import Line, Statement, line_json
from platebind.clock import parse_at, taipei, taipei_iso

REQUIRED = ("charge_id", "kind", "amount")
COMPARED_TEXT = ("reference", "plate")
LISTED_ERRORS = 20
MAX_AMOUNT = 2**63 - 1
_IN_CHUNK = 500

Key = tuple[str, str]


@dataclass(frozen=True)
class TheirLine:
    """One uploaded line, checked; ``cells`` holds every column of the upload by name."""

    line: int
    charge_id: str
    kind: str
    amount: int
    at: datetime | None
    cells: dict[str, str]

    @property
    def key(self) -> Key:
        return (self.charge_id, self.kind)


@dataclass(frozen=True)
class Upload:
    columns: frozenset[str]
    lines: list[TheirLine]


def _rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's byte-order mark is not a column
    except UnicodeDecodeError as exc:
        raise StatementCsvInvalid("the upload is not UTF-8 text") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            if cells:  # a blank line is no line
                yield reader.line_num, cells
    except csv.Error as exc:
        raise StatementCsvInvalid(f"line {reader.line_num}: {exc}") from exc


def parse_upload(data: bytes) -> Upload:
    """The upload's lines, all checked first: a refusal lists the problems by line number
    (``statement_csv_invalid``) and nothing is compared."""
    rows = _rows(data)
    first = next(rows, None)
    if first is None:
        raise StatementCsvInvalid("the upload is empty: send a header row, then your lines")
    header = [name.strip() for name in first[1]]
    absent = [name for name in REQUIRED if name not in header]
    if absent:
        raise StatementCsvInvalid(
            f"the header row lacks {', '.join(absent)} (it needs {', '.join(REQUIRED)})",
            columns=header,
        )
    lines: list[TheirLine] = []
    errors: list[str] = []
    for number, cells in rows:
        parsed = _line(number, header, cells)
        if isinstance(parsed, str):
            errors.append(parsed)
        else:
            lines.append(parsed)
    if errors:
        raise StatementCsvInvalid(
            f"{len(errors)} line(s) cannot be read; nothing was compared",
            errors=errors[:LISTED_ERRORS],
            unlisted_errors=max(0, len(errors) - LISTED_ERRORS),
        )
    return Upload(frozenset(header), lines)


def _line(number: int, header: Sequence[str], cells: Sequence[str]) -> TheirLine | str:
    """The checked line, or what is wrong with it."""
    if len(cells) != len(header):
        return f"line {number}: {len(cells)} cells, the header has {len(header)}"
    row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    try:
        charge_id = str(uuid.UUID(row["charge_id"]))
    except ValueError:
        return f"line {number}: charge_id {row['charge_id'][:40]!r} is not a charge id"
    if row["kind"] not in SETTLE_KINDS:
        return f"line {number}: kind must be one of {', '.join(SETTLE_KINDS)}"
    try:
        amount = int(row["amount"])
        at = parse_at(row["at"]) if row.get("at") else None
    except ValueError as exc:
        return f"line {number}: {exc}"
    if not -MAX_AMOUNT <= amount <= MAX_AMOUNT:  # the report is JSON of 64-bit integers
        return f"line {number}: amount {row['amount'][:40]} is out of range"
    return TheirLine(number, charge_id, row["kind"], amount, at, row)


def _differences(
    ours: Line, theirs: TheirLine, columns: frozenset[str]
) -> dict[str, LineDifference]:
    found: dict[str, LineDifference] = {}
    if ours.amount != theirs.amount:
        found["amount"] = LineDifference(ours=ours.amount, theirs=theirs.amount)
    if "at" in columns and ours.at != theirs.at:
        found["at"] = LineDifference(ours=taipei_iso(ours.at), theirs=taipei_iso(theirs.at))
    for name in COMPARED_TEXT:
        if name in columns:
            mine: str | None = getattr(ours, name)
            given = theirs.cells[name] or None
            if (mine or None) != given:
                found[name] = LineDifference(ours=mine, theirs=given)
    return found


def _line_out(line: Line) -> StatementLineOut:
    doc = line_json(line)
    for name in ("charge_id", "corrects_charge_id"):
        doc[name] = None if doc[name] is None else str(doc[name])
    return StatementLineOut.model_validate(doc)


def reconcile(session: Session, statement: Statement, upload: Upload) -> ReconcileReport:
    """Compare the upload with the statement, streaming our lines once."""
    theirs: dict[Key, TheirLine] = {}
    repeated: list[TheirLine] = []
    for uploaded in upload.lines:
        if uploaded.key in theirs:
            repeated.append(uploaded)
        else:
            theirs[uploaded.key] = uploaded
    missing: list[StatementLineOut] = []
    mismatched: list[MismatchedLine] = []
    ours = matched = 0
    for line in statements.lines(session, statement):
        ours += 1
        found = theirs.pop((str(line.charge_id), line.kind), None)
        if found is None:
            missing.append(_line_out(line))
            continue
        differences = _differences(line, found, upload.columns)
        if differences:
            mismatched.append(
                MismatchedLine(
                    charge_id=found.charge_id,
                    kind=found.kind,
                    line=found.line,
                    differences=differences,
                )
            )
        else:
            matched += 1
    extra = _extra(session, statement, list(theirs.values()), repeated)
    return ReconcileReport(
        agent=statement.agent_id,
        date=statement.day,
        final=statement.final,
        ours=ours,
        theirs=len(upload.lines),
        matched=matched,
        missing=missing,
        extra=extra,
        mismatched=mismatched,
    )


def _extra(
    session: Session, statement: Statement, unmatched: list[TheirLine], repeated: list[TheirLine]
) -> list[ExtraLine]:
    elsewhere = _days_in_our_books(session, statement, [t.key for t in unmatched])

    def extra_line(t: TheirLine, duplicate: bool) -> ExtraLine:
        return ExtraLine(
            charge_id=t.charge_id,
            kind=t.kind,
            line=t.line,
            amount=t.amount,
            duplicate=duplicate,
            found_on=None if duplicate else elsewhere.get(t.key),
        )

    extra = [extra_line(t, False) for t in unmatched] + [extra_line(t, True) for t in repeated]
    return sorted(extra, key=lambda e: e.line)


def _days_in_our_books(session: Session, statement: Statement, keys: list[Key]) -> dict[Key, date]:
    """The Taipei day of each of the agent's lines named by ``keys`` that is on another day."""
    days: dict[Key, date] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = [
            (uuid.UUID(charge_id), kind) for charge_id, kind in keys[start : start + _IN_CHUNK]
        ]
        stmt = select(SettleEvent.charge_id, SettleEvent.kind, SettleEvent.at).where(
            SettleEvent.agent_id == statement.agent_id,
            tuple_(SettleEvent.charge_id, SettleEvent.kind).in_(chunk),
        )
        for charge_id, kind, at in session.execute(stmt):
            day = taipei(at).date()
            if day != statement.day:
                days[(str(charge_id), kind)] = day
    return days
