"""Fuzzing the file importers with any bytes: the vehicle-registry extract, the roadside bills
file, the Taipei lot feed and the reconciliation upload. Each answers its summary or its own
documented refusal (``import_invalid``, ``roadside_file_invalid``, ``lot_file_invalid``,
``statement_csv_invalid``: a ``DomainError`` with that code), never another exception, in
bounded time — on SQLite and PostgreSQL, each input in a transaction rolled back.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from platebind.billing import reconcile, statements
from platebind.billing.errors import StatementCsvInvalid
from platebind.errors import DomainError
from platebind.parking import service as lots
from platebind.parking.errors import LotFileInvalid
from platebind.registry.audit import Actor
from platebind.roadside import importer
from platebind.roadside import service as roadside
from platebind.roadside.errors import RoadsideFileInvalid
from platebind.vehicles import service as vehicles
from platebind.vehicles.service import ImportInvalid
from tests.conftest import ADMIN, Db
from tests.fuzz.common import ANY_TEXT, FUZZ, answer, bounded, deep_json, taipei_lots
from tests.fuzz.test_plates_fuzz import ID_TEXT, PLATE_TEXT
from tests.registry.world import build_world

ID_HASH_KEY = "k3y-for-the-fuzzer-0123456789-abcdefXYZ"
SEGMENT = "ZX0401"
# Bigger inputs take longer honestly (they are read whole, and written): a row's worth each.
IMPORT_BOUND_SECONDS = 2.0


@pytest.fixture
def world(db: Db) -> Db:
    """Scopes, agents and one roadside segment, committed; each input then runs in a
    transaction that is rolled back."""
    build_world(db)
    with db.tx() as s:
        roadside.add_segment(
            s,
            db.clock.now(),
            ADMIN,
            segment_id=SEGMENT,
            scope_id="tpe-roadside",
            name="忠孝東路四段",
            payex="計時：30元/時，全程以半小時計。",
        )
    return db


@contextmanager
def rolled_back(db: Db) -> Iterator[Session]:
    session = db.factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def assert_refusal(exc: Exception, code: str) -> None:
    assert isinstance(exc, DomainError)
    assert exc.code == code
    orjson.dumps(exc.as_problem())  # the CLI prints it with --json, the API answers it


# ---------------------------------------------------------------------------------------------
# CSV built from the cells each importer expects, with the damage files really have


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


_DAMAGE = st.sampled_from(
    [b"", b"\xef\xbb\xbf", b"\xff", b"\x00", b"\r", b'"', b'"unterminated', b"\n\n", b",,,,"]
)


def damaged(document: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """``document`` with a piece of damage spliced in somewhere (or not)."""

    def splice(data: bytes, damage: bytes, where: float) -> bytes:
        at = int(len(data) * where)
        return data[:at] + damage + data[at:]

    return st.builds(splice, document, _DAMAGE, st.floats(0, 1))


def csv_files(
    header: list[str], cells: dict[str, st.SearchStrategy[str]]
) -> st.SearchStrategy[bytes]:
    """A header (maybe shuffled or cut) and rows of plausible or hostile cells."""
    names = st.one_of(st.just(header), st.permutations(header), st.lists(st.sampled_from(header)))
    cell = st.one_of(*cells.values(), ANY_TEXT)

    def rows(columns: list[str]) -> st.SearchStrategy[list[list[str]]]:
        row = st.tuples(*(cells.get(c, cell) for c in columns)).map(list)
        ragged = st.lists(cell, max_size=len(columns) + 2)
        return st.lists(st.one_of(row, ragged), max_size=12)

    files = names.flatmap(lambda h: rows(h).map(lambda body: _csv([h, *body])))
    return st.one_of(damaged(files), st.binary(max_size=600))


# ---------------------------------------------------------------------------------------------
# The vehicle-registry extract

_VEHICLE_TYPES = st.sampled_from(["car", "motorcycle", "heavy_motorcycle", "CAR", " car ", "bus"])
EXTRACTS = st.one_of(
    csv_files(
        ["vehicle_type", "plate", "owner_id"],
        {"vehicle_type": _VEHICLE_TYPES, "plate": PLATE_TEXT, "owner_id": ID_TEXT},
    ),
    st.just(b"vehicle_type,plate,owner_id\n" + b"car,ABC-1234," + b"x" * 200_000 + b"\n"),
)


@given(data=EXTRACTS)
@FUZZ
def test_the_vehicle_extract_imports_or_is_refused(world: Db, data: bytes) -> None:
    with rolled_back(world) as session:
        with bounded(IMPORT_BOUND_SECONDS):
            result = answer(
                lambda: vehicles.import_extract(
                    session, world.clock, ADMIN, io.BytesIO(data), ID_HASH_KEY
                ),
                DomainError,
            )
        if isinstance(result, Exception):
            assert_refusal(result, ImportInvalid.code)
        else:
            assert result.rows == result.inserted + result.updated + result.unchanged


# ---------------------------------------------------------------------------------------------
# The roadside bills file

_TIMES = st.one_of(
    st.sampled_from(
        [
            "2026-11-26T10:00+08:00",
            "2026-11-26T11:10:00+08:00",
            "2026-11-26 09:00",
            "0001-01-01T00:00",
            "9999-12-31T23:59:59-12:00",
            "2026-02-30T10:00",
            "2026-11-26T10:00Z",
            "1999-12-31T23:59",
            "2100-01-01T00:00",
            "+002026-11-26",
        ]
    ),  # fmt: skip
    ANY_TEXT.map(lambda t: t[:30]),
)
_AMOUNTS = st.one_of(
    st.integers(-5, 2_000_000).map(str),
    st.sampled_from(["²", "١٢", "1e3", "9" * 5000, "99999999999999999999", " 30 ", "-0", ""]),
)
BILL_COLUMNS = [*importer.REQUIRED, *importer.OPTIONAL]
BILL_FILES = csv_files(
    BILL_COLUMNS,
    {
        "bill_no": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,45}", fullmatch=True),
        "vehicle_type": _VEHICLE_TYPES,
        "plate": PLATE_TEXT,
        "segment": st.sampled_from([SEGMENT, "ZX0402", "", "../x", "\x00"]),
        "started_at": _TIMES,
        "ended_at": _TIMES,
        "issued_at": _TIMES,
        "due_at": _TIMES,
        "amount": _AMOUNTS,
    },
)


@given(
    data=st.one_of(BILL_FILES, st.just(_csv([BILL_COLUMNS]) + b"x" * 200_000)),
    partial=st.booleans(),
)
@FUZZ
def test_the_roadside_file_imports_or_is_refused(
    world: Db, tmp_path: Path, data: bytes, partial: bool
) -> None:
    path = tmp_path / "bills.csv"
    path.write_bytes(data)
    with rolled_back(world) as session:
        with bounded(IMPORT_BOUND_SECONDS):
            result = answer(
                lambda: importer.import_bills(
                    session, world.clock.now(), ADMIN, importer.read_lines(path), partial=partial
                ),
                DomainError,
            )
        if isinstance(result, Exception):
            assert_refusal(result, RoadsideFileInvalid.code)
        else:
            assert result.rows == result.imported + result.duplicates + len(result.rejected)
            json.dumps(result.as_dict())


# ---------------------------------------------------------------------------------------------
# The Taipei lot feed

_LOT_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    ANY_TEXT,
    st.sampled_from(["\x00", "a\ud800", "\udfff", "1e999", "-9", "9" * 5000]),
    st.lists(st.integers(), max_size=2),
)


def _mutated_lot(lot: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**lot, key: value}


_LOT_KEYS = sorted({k for lot in taipei_lots()[:50] for k in lot}) + ["EntrancecoordInfo"]
_ENTRANCE = st.dictionaries(st.sampled_from(["Xcod", "Ycod", "Address"]), _LOT_VALUES)
_ENTRANCES = st.fixed_dictionaries({"EntrancecoordInfo": st.lists(_ENTRANCE, max_size=3)})
LOTS = st.one_of(
    st.builds(
        _mutated_lot,
        st.sampled_from(taipei_lots()),
        st.sampled_from(_LOT_KEYS),
        st.one_of(_LOT_VALUES, _ENTRANCES),
    ),
    st.dictionaries(st.sampled_from(_LOT_KEYS), _LOT_VALUES, max_size=6),
    _LOT_VALUES,
)


def _feed(parks: Any, ascii_only: bool) -> bytes:
    # Escaped (\ud800, \u0000) the file is valid UTF-8 and the text reaches the importer;
    # unescaped, a lone surrogate makes the file itself unreadable.
    document = json.dumps({"data": {"park": parks}}, ensure_ascii=ascii_only)
    return document.encode("utf-8", "surrogatepass")


FEEDS = st.one_of(
    st.builds(_feed, st.lists(LOTS, max_size=4), st.booleans()),
    damaged(st.builds(_feed, st.lists(LOTS, max_size=3), st.booleans())),
    st.binary(max_size=400),
    st.integers(1, 200_000).map(deep_json),
    st.integers(4400, 6000).map(lambda n: b'{"data": {"park": [' + b"1" * n + b"]}}"),
    st.sampled_from(
        [b"null", b"[]", b'{"data": []}', b'{"data": {"park": {}}}', b"\xef\xbb\xbf{}"]
    ),
)


@given(data=FEEDS)
@FUZZ
def test_the_lot_feed_imports_or_is_refused(world: Db, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "feed.json"
    path.write_bytes(data)
    with rolled_back(world) as session:
        with bounded(IMPORT_BOUND_SECONDS):
            result = answer(
                lambda: lots.import_taipei(
                    session, world.clock, ADMIN, lots.read_feed(path), "tpe-lots"
                ),
                DomainError,
            )
        if isinstance(result, Exception):
            assert_refusal(result, LotFileInvalid.code)
        else:
            assert result.lots >= 1


# ---------------------------------------------------------------------------------------------
# The reconciliation upload

_UUIDS = st.one_of(st.uuids().map(str), st.sampled_from(["", "not-a-uuid", "{" + "0" * 32 + "}"]))
RECONCILE_UPLOADS = csv_files(
    ["charge_id", "kind", "amount", "at", "reference", "plate"],
    {
        "charge_id": _UUIDS,
        "kind": st.sampled_from(["paid", "declined", "correction", "PAID", ""]),
        "amount": st.one_of(_AMOUNTS, st.integers().map(str), st.just(str(2**64))),
        "at": _TIMES,
        "reference": ANY_TEXT,
        "plate": PLATE_TEXT,
    },
)
AGENT = Actor("agent", "cmj")


@given(data=RECONCILE_UPLOADS)
@FUZZ
def test_a_reconciliation_upload_is_compared_or_refused(world: Db, data: bytes) -> None:
    """As the route does it: parse, compare with a day's statement, encode the report."""
    statement = statements.statement_of("cmj", date(2026, 11, 25), world.clock.now())
    with bounded():
        upload = answer(lambda: reconcile.parse_upload(data), DomainError)
    if isinstance(upload, Exception):
        assert_refusal(upload, StatementCsvInvalid.code)
        return
    with rolled_back(world) as session:
        report = reconcile.reconcile(session, statement, upload)
        orjson.dumps(report.model_dump(mode="json"))  # how the route answers it
        assert report.theirs == len(upload.lines)
