"""``platebind roadside import FILE``: a file of bills (CSV), streamed and issued in batches.

All or nothing by default: every line is checked and issued in the command's one transaction,
and if any line is refused the whole transaction is rolled back and every refused line is
listed (``roadside_file_invalid`` with ``errors``). ``partial`` keeps the good lines and lists
the refused ones. Memory stays bounded whatever the file's size: lines are read as they are
issued, a batch at a time, and the session forgets each batch once it is flushed; only the
refused lines are kept, to be reported.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from platebind.clock import parse_at
from platebind.errors import DomainError
from platebind.registry import audit
from platebind.registry.audit import Actor
from platebind.roadside.checking import BillRecord, Checked, Desk, check
from platebind.roadside.errors import RoadsideBillInvalid, RoadsideFileInvalid
from platebind.roadside.issuing import Batch, Rejection, issue_batch

REQUIRED = ("bill_no", "vehicle_type", "plate", "segment", "started_at", "issued_at")
OPTIONAL = ("ended_at", "amount", "due_at")
BATCH = 1000
# A refused import lists this many refused lines at most in its refusal (all are counted).
MAX_LISTED = 10_000

Line = tuple[int, dict[str, Any]]
_AMOUNT = re.compile("[0-9]{1,18}")


def read_lines(path: Path) -> Iterator[Line]:
    """The file's bills with their line numbers, one at a time (``roadside_file_invalid``
    for a file without the required columns, or that is not UTF-8)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames or []
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise RoadsideFileInvalid(
                    f"the file has no column {', '.join(missing)} (required: "
                    f"{', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)})",
                    errors=[],
                )
            for row in reader:
                yield reader.line_num, row
        except UnicodeDecodeError as exc:
            raise RoadsideFileInvalid(f"the file is not UTF-8 text: {exc}", errors=[]) from exc
        except csv.Error as exc:  # e.g. a cell beyond the csv module's field size limit
            raise RoadsideFileInvalid(
                f"line {reader.line_num}: not readable as CSV ({exc})", errors=[]
            ) from exc


def record_of(row: dict[str, Any]) -> BillRecord:
    """A line as a bill (``roadside_bill_invalid`` naming the field that does not read)."""
    if None in row:
        raise RoadsideBillInvalid("the line has more values than the header has columns")

    def text(name: str) -> str | None:
        value = row.get(name)
        return value.strip() or None if isinstance(value, str) else None

    def required(name: str) -> str:
        value = text(name)
        if value is None:
            raise RoadsideBillInvalid(f"{name} is missing", field=name)
        return value

    def at(name: str, value: str | None) -> datetime | None:
        try:
            return None if value is None else parse_at(value)
        except ValueError as exc:
            raise RoadsideBillInvalid(f"{name}: {exc}", field=name) from exc

    amount = text("amount")
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses, and a cap on the
    # length keeps int() from refusing 4,300 digits (check() then applies MAX_AMOUNT).
    if amount is not None and not _AMOUNT.fullmatch(amount):
        raise RoadsideBillInvalid("amount is a whole number of TWD", field="amount")
    started, issued = (
        at("started_at", required("started_at")),
        at("issued_at", required("issued_at")),
    )
    assert started is not None
    assert issued is not None
    return BillRecord(
        bill_no=required("bill_no"),
        vehicle_type=required("vehicle_type"),
        plate=required("plate"),
        segment=required("segment"),
        started_at=started,
        ended_at=at("ended_at", text("ended_at")),
        amount=None if amount is None else int(amount),
        issued_at=issued,
        due_at=at("due_at", text("due_at")),
    )


@dataclass
class ImportSummary:
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    voided: int = 0
    auto_paid: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    partial: bool = False
    shown: int = 0  # rows already counted by the progress bar

    def add(self, batch: Batch) -> None:
        for result in batch.results:
            if not result.new:
                self.duplicates += 1
                continue
            self.imported += 1
            self.voided += result.answer["status"] == "void"
            self.auto_paid += result.answer["auto_pay"] is not None
        self.rejected += [r.as_dict() for r in batch.rejections]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "voided": self.voided,
            "auto_paid": self.auto_paid,
            "rejected": sorted(self.rejected, key=lambda r: r["line"]),
            "partial": self.partial,
        }


def import_bills(
    session: Session,
    now: datetime,
    actor: Actor,
    lines: Iterable[Line],
    *,
    partial: bool = False,
    progress: Callable[[int], object] = lambda n: None,
) -> ImportSummary:
    """Issue the bills of ``lines`` (see the module); the summary, or the refusal."""
    desk = Desk(session, now, issuer="import")
    summary = ImportSummary(partial=partial)
    pending: list[Checked] = []
    for line, row in lines:
        summary.rows += 1
        try:
            pending.append(check(desk, line, record_of(row)))
        except DomainError as exc:
            bill_no = str(row.get("bill_no") or "")[:40]
            summary.rejected.append(Rejection(line, bill_no, exc).as_dict())
        if len(pending) >= BATCH:
            _issue(session, desk, pending, summary, progress)
    _issue(session, desk, pending, summary, progress)
    if summary.rejected and not partial:
        listed = summary.as_dict()["rejected"][:MAX_LISTED]
        raise RoadsideFileInvalid(
            f"{len(summary.rejected)} of {summary.rows} lines are refused; nothing was "
            "imported (--partial imports the others)",
            errors=listed,
        )
    audit.record(session, actor, now, "roadside.import", detail=_audited(summary))
    return summary


def _issue(
    session: Session,
    desk: Desk,
    pending: list[Checked],
    summary: ImportSummary,
    progress: Callable[[int], object],
) -> None:
    if pending:
        summary.add(issue_batch(desk, pending))
        # Written and forgotten: the session keeps nothing of a batch once it is flushed.
        session.flush()
        session.expunge_all()
    progress(summary.rows - summary.shown)
    summary.shown = summary.rows
    pending.clear()


def _audited(summary: ImportSummary) -> dict[str, Any]:
    doc = summary.as_dict()
    doc["rejected"] = len(summary.rejected)
    return doc
