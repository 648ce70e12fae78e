"""The motor-vehicle registry extract: validate the whole CSV, then upsert it in batches.

The import is all-or-nothing: every row is validated before the caller's transaction is allowed
to commit (a refusal is raised after the last row, so the batches already written roll back).
An owner change ends the plate's open bindings in every scope at each scope's next cut-over.
Services never commit; the caller owns the one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import IO, Any

from pydantic import SecretStr
from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from platebind import plates
from platebind.clock import Clock
from platebind.db import dialect_insert, lock_key
from platebind.errors import DomainError
from platebind.registry import audit, queries, service
from platebind.registry.audit import Actor
from platebind.registry.rules import EndReason
from platebind.vehicles.models import KeyFingerprint, Vehicle

HEADER = ("vehicle_type", "plate", "owner_id")
MAX_LISTED_ERRORS = 100
BATCH_SIZE = 1000
MIN_KEY_LENGTH = 32
ID_HASH_KEY_NAME = "id_hash_key"
# Fragments of the values people paste from examples; a key containing one is not a secret.
_PLACEHOLDERS = ("changeme", "replaceme", "placeholder", "yoursecret", "secretkey", "example")
_SHOWN_VALUE_LENGTH = 40
_BOM = "\ufeff"


class IdHashKeyInvalid(DomainError):
    code = "id_hash_key_invalid"
    title = "The national-ID hash key is missing or unsafe"
    status = 500


class IdHashKeyChanged(DomainError):
    code = "id_hash_key_changed"
    title = "The national-ID hash key is not the one this database's hashes were made with"
    status = 500


class ImportInvalid(DomainError):
    code = "import_invalid"
    title = "The vehicle registry extract is invalid; nothing was imported"
    status = 422


# ---------------------------------------------------------------------------------------------
# The keyed hash of a national ID


def id_hash_key(configured: SecretStr | None) -> str:
    """The configured key, or ``id_hash_key_invalid`` when it is unset, short or a placeholder."""
    name = "PLATEBIND_ID_HASH_KEY"
    if configured is None or not configured.get_secret_value():
        raise IdHashKeyInvalid(f"{name} is not set; set it to a random secret of 32+ characters")
    key = configured.get_secret_value()
    if len(key) < MIN_KEY_LENGTH:
        raise IdHashKeyInvalid(f"{name} is shorter than {MIN_KEY_LENGTH} characters")
    folded = re.sub("[^a-z0-9]", "", key.lower())
    if len(set(key)) < 4 or any(p in folded for p in _PLACEHOLDERS):
        raise IdHashKeyInvalid(f"{name} is a placeholder value; set it to a random secret")
    return key


def key_fingerprint(key: str) -> str:
    """An HMAC of a fixed text under ``key``: tells keys apart without revealing them."""
    return hmac.new(
        key.encode(), b"platebind id-hash-key fingerprint v1", hashlib.sha256
    ).hexdigest()


def stored_key_fingerprint(db: Session | Connection) -> str | None:
    """The fingerprint of the key this database's hashes were made with (None: none yet)."""
    return db.scalar(
        select(KeyFingerprint.fingerprint).where(KeyFingerprint.name == ID_HASH_KEY_NAME)
    )


def is_stored_key(stored: str, key: str) -> bool:
    return hmac.compare_digest(stored, key_fingerprint(key))


def check_key_fingerprint(session: Session, key: str, now: datetime) -> None:
    """Refuse ``key`` if this database's IDs were hashed with another; remember it on first use.

    Changing the key is not a rotation: every stored hash would stop matching (see
    docs/deploy.md). Set the old key back, or start from an empty registry and portal.
    """
    stored = stored_key_fingerprint(session)
    if stored is None:
        insert_once = (
            dialect_insert(session)(KeyFingerprint)
            .values(name=ID_HASH_KEY_NAME, fingerprint=key_fingerprint(key), recorded_at=now)
            .on_conflict_do_nothing()
        )
        session.execute(insert_once)
        stored = stored_key_fingerprint(session)
    if stored is not None and not is_stored_key(stored, key):
        raise IdHashKeyChanged(
            "PLATEBIND_ID_HASH_KEY differs from the key this database's national-ID hashes "
            "were made with; set the original key back (a new key matches no stored hash)"
        )


def owner_key(national_id: str, key: str) -> str:
    """HMAC-SHA256 (hex) of the canonical national ID: what ``vehicles.owner_id_hash`` holds.

    The portal calls this with a member's ID to find the plates they own. Raises
    ``plates.InvalidNationalId`` for an invalid ID (its message never contains the ID).
    """
    canonical = plates.validate_national_id(national_id)
    return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------
# Reading and validating the extract


@dataclass(frozen=True)
class ExtractRow:
    line: int
    vehicle_type: str  # the binding identity: car or motorcycle
    plate: str
    owner_id_hash: str


@dataclass(frozen=True)
class RowError:
    line: int
    field: str | None
    message: str


class _Unreadable(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.error = RowError(line, None, message)


def _decoded_lines(stream: IO[bytes], progress: Callable[[int], object]) -> Iterator[str]:
    """UTF-8 lines (a leading BOM dropped); decoded per line, so a bad byte names its line.

    Splitting bytes on b"\\n" is safe: in UTF-8 that byte never occurs inside a character.
    """
    for number, raw in enumerate(stream, start=1):
        progress(len(raw))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Unreadable(
                number, f"not UTF-8 text (byte {exc.start + 1} of the line)"
            ) from None
        yield text.removeprefix(_BOM) if number == 1 else text


def _shown(value: str) -> str:
    """A value quoted for a message, cut short (hostile input must not flood the report)."""
    cut = value if len(value) <= _SHOWN_VALUE_LENGTH else value[:_SHOWN_VALUE_LENGTH] + "…"
    return repr(cut)


def _field_errors(line: int, fields: list[str], key: str) -> tuple[ExtractRow | None, list[str]]:
    """One data row: the row, or ``field: reason`` messages (never the ID itself)."""
    raw_type, raw_plate, raw_owner = (f.strip() for f in fields)
    problems: list[str] = []
    identity = canonical = owner_hash = None
    try:
        identity = plates.binding_type(raw_type.lower()).value
    except ValueError:
        accepted = ", ".join(t.value for t in plates.TariffClass)
        problems.append(f"vehicle_type: unknown vehicle type {_shown(raw_type)}; use {accepted}")
    if identity is not None:
        try:
            canonical = plates.canonical_plate(raw_plate, raw_type.lower())
        except plates.InvalidPlate as exc:
            reason = f" ({exc.reason})" if exc.reason else ""
            problems.append(
                f"plate: {_shown(raw_plate)} is not a valid {identity} plate{reason}; "
                f"accepted formats: {', '.join(exc.accepted)}"
            )
    try:
        owner_hash = owner_key(raw_owner, key)
    except plates.InvalidNationalId as exc:
        problems.append(f"owner_id: {exc.reason}")
    if identity is None or canonical is None or owner_hash is None:
        return None, problems
    return ExtractRow(line, identity, canonical, owner_hash), problems


@dataclass
class _Validation:
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    # (vehicle type, plate) -> first line, for the duplicate check.
    seen: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(error)


def _header_problem(header: list[str] | None) -> str | None:
    if header is None:
        return "the file is empty; expected the header vehicle_type,plate,owner_id"
    if tuple(h.strip().lower() for h in header) != HEADER:
        shown = ",".join(h[:_SHOWN_VALUE_LENGTH] for h in header[:5])
        return f"the header must be vehicle_type,plate,owner_id, not {shown!r}"
    return None


def _check_row(check: _Validation, line: int, fields: list[str], key: str) -> ExtractRow | None:
    if len(fields) != len(HEADER):
        check.add(RowError(line, None, f"expected 3 fields, found {len(fields)}"))
        return None
    row, problems = _field_errors(line, fields, key)
    for problem in problems:
        name, _, message = problem.partition(": ")
        check.add(RowError(line, name, message))
    if row is None:
        return None
    first = check.seen.setdefault((row.vehicle_type, row.plate), line)
    if first != line:
        check.add(RowError(line, "plate", f"{row.plate} ({row.vehicle_type}) repeats line {first}"))
        return None
    return row


def _rows(
    stream: IO[bytes], key: str, check: _Validation, progress: Callable[[int], object]
) -> Iterator[ExtractRow]:
    """Valid data rows; every problem goes to ``check`` (reading stops at an unreadable line)."""
    reader = csv.reader(_decoded_lines(stream, progress), strict=True)
    try:
        problem = _header_problem(next(reader, None))
        if problem is not None:
            check.add(RowError(1, None, problem))
            return
        start = reader.line_num + 1
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not any(f.strip() for f in fields):
                continue  # blank lines (a trailing newline, a spreadsheet's empty rows)
            row = _check_row(check, line, fields, key)
            if row is not None:
                yield row
    except _Unreadable as exc:
        check.add(exc.error)
    except csv.Error as exc:
        check.add(RowError(reader.line_num, None, f"not readable as CSV ({exc})"))


# ---------------------------------------------------------------------------------------------
# Writing


@dataclass
class ImportSummary:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    owner_changed: int = 0
    bindings_ended: int = 0
    # Plates in the registry that the extract does not mention: left as they are.
    absent: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _stored_hashes(session: Session, batch: list[ExtractRow]) -> dict[tuple[str, str], str]:
    keys = [(r.vehicle_type, r.plate) for r in batch]
    stmt = select(Vehicle.vehicle_type, Vehicle.plate, Vehicle.owner_id_hash).where(
        tuple_(Vehicle.vehicle_type, Vehicle.plate).in_(keys)
    )
    return {(t, p): h for t, p, h in session.execute(stmt)}


def _write_batch(
    session: Session, now: datetime, batch: list[ExtractRow], summary: ImportSummary
) -> list[tuple[str, str]]:
    """Upsert one batch (one read, at most two executemany writes); the owner-changed plates."""
    stored = _stored_hashes(session, batch)
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for row in batch:
        values = {"vehicle_type": row.vehicle_type, "plate": row.plate}
        previous = stored.get((row.vehicle_type, row.plate))
        if previous is None:
            new.append({**values, "owner_id_hash": row.owner_id_hash, "updated_at": now})
        elif previous != row.owner_id_hash:
            changed.append({**values, "owner_id_hash": row.owner_id_hash, "updated_at": now})
    if new:
        session.execute(insert(Vehicle), new)
    if changed:
        session.execute(update(Vehicle), changed)  # bulk UPDATE by primary key
    summary.rows += len(batch)
    summary.inserted += len(new)
    summary.updated += len(changed)
    summary.owner_changed += len(changed)
    summary.unchanged += len(batch) - len(new) - len(changed)
    return [(c["vehicle_type"], c["plate"]) for c in changed]


def _end_bindings_of(
    session: Session, clock: Clock, actor: Actor, vehicle_type: str, plate: str
) -> int:
    """End the plate's open bindings in every scope, each at its scope's next cut-over."""
    ended = 0
    for binding in queries.plate_history(session, vehicle_type, plate):
        if binding.valid_to is None:
            result = service.end_binding(session, clock, actor, binding, EndReason.OWNER_CHANGED)
            ended += result.changed
    return ended


def _refusal(check: _Validation) -> ImportInvalid:
    unlisted = check.error_count - len(check.errors)
    more = f" ({unlisted} more not listed)" if unlisted else ""
    return ImportInvalid(
        f"the extract has {check.error_count} errors{more}; nothing was imported",
        errors=[asdict(e) for e in check.errors],
        unlisted_errors=unlisted,
    )


def import_extract(
    session: Session,
    clock: Clock,
    actor: Actor,
    stream: IO[bytes],
    key: str,
    progress: Callable[[int], object] = lambda _bytes: None,
) -> ImportSummary:
    """Import a full registry extract (CSV ``vehicle_type,plate,owner_id``), all or nothing.

    Raises ``ImportInvalid`` listing every problem by line (the caller's rollback then undoes
    the batches already written). ``progress`` is told the bytes read.
    """
    now = clock.now()
    lock_key(session, "vehicles.import")  # one import at a time
    check_key_fingerprint(session, key, now)
    check, summary = _Validation(), ImportSummary()
    owner_changes: list[tuple[str, str]] = []
    batch: list[ExtractRow] = []
    for row in _rows(stream, key, check, progress):
        batch.append(row)
        if len(batch) >= BATCH_SIZE and not check.error_count:
            owner_changes += _write_batch(session, now, batch, summary)
            batch = []
        elif check.error_count:
            batch = []  # validation goes on to list every error; writing is pointless now
    if not check.error_count and summary.rows + len(batch) == 0:
        check.add(RowError(2, None, "the extract has no vehicle rows"))
    if check.error_count:
        raise _refusal(check)
    if batch:
        owner_changes += _write_batch(session, now, batch, summary)
    for vehicle_type, plate in owner_changes:
        summary.bindings_ended += _end_bindings_of(session, clock, actor, vehicle_type, plate)
    total = session.scalar(select(func.count()).select_from(Vehicle)) or 0
    summary.absent = total - summary.rows
    audit.record(session, actor, now, "vehicles.import", detail=summary.as_dict())
    return summary
