"""Importing the motor-vehicle registry extract, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platebind.clock import TAIPEI
from platebind.registry import queries
from platebind.registry import service as registry
from platebind.registry.models import AuditEntry, Binding
from platebind.vehicles import service
from platebind.vehicles.models import Vehicle
from platebind.vehicles.service import IdHashKeyInvalid, ImportInvalid, ImportSummary
from tests.conftest import ADMIN, Db
from tests.registry.world import build_world
from tests.vehicles.extracts import ALICE, BOB, CAROL, KEY, OTHER_KEY, extract, national_id

GOOD = (
    f"car,ABC-1234,{ALICE}",
    f"car,abc 5678,{ALICE}",
    f"motorcycle,XYZ-123,{BOB}",
    f"heavy_motorcycle,HVY-1234,{CAROL}",
)


def run_import(db: Db, stream: io.BytesIO, key: str = KEY) -> ImportSummary:
    with db.tx() as s:
        return service.import_extract(s, db.clock, ADMIN, stream, key)


def refusal(db: Db, stream: io.BytesIO) -> ImportInvalid:
    with pytest.raises(ImportInvalid) as caught:
        run_import(db, stream)
    return caught.value


def stored(db: Db) -> dict[tuple[str, str], str]:
    with db.tx() as s:
        rows = s.execute(select(Vehicle.vehicle_type, Vehicle.plate, Vehicle.owner_id_hash))
        return {(t, p): h for t, p, h in rows}


def counts(summary: ImportSummary) -> tuple[int, ...]:
    return (summary.rows, summary.inserted, summary.updated, summary.unchanged)


# ---------------------------------------------------------------------------------------------
# A valid extract


def test_good_extract_imports_every_row_under_its_binding_identity(db: Db) -> None:
    summary = run_import(db, extract(*GOOD))
    assert summary.as_dict() == {
        "rows": 4,
        "inserted": 4,
        "updated": 0,
        "unchanged": 0,
        "owner_changed": 0,
        "bindings_ended": 0,
        "absent": 0,
    }
    assert set(stored(db)) == {
        ("car", "ABC-1234"),
        ("car", "ABC-5678"),
        ("motorcycle", "XYZ-123"),
        ("motorcycle", "HVY-1234"),  # a heavy motorcycle binds as a motorcycle
    }


def test_reimport_of_the_same_extract_changes_nothing(db: Db) -> None:
    run_import(db, extract(*GOOD))
    before = stored(db)
    db.clock.advance(timedelta(days=1))
    again = run_import(db, extract(*GOOD))
    assert counts(again) == (4, 0, 0, 4)
    assert (again.owner_changed, again.bindings_ended) == (0, 0)
    assert stored(db) == before


def test_plates_missing_from_a_later_extract_are_kept_and_counted(db: Db) -> None:
    run_import(db, extract(*GOOD))
    summary = run_import(db, extract(GOOD[0], f"car,NEW-5555,{BOB}"))
    assert (summary.rows, summary.inserted, summary.unchanged, summary.absent) == (2, 1, 1, 3)
    assert len(stored(db)) == 5


def test_utf8_bom_and_crlf_line_ends_are_accepted(db: Db) -> None:
    body = "\r\n".join(["vehicle_type,plate,owner_id", *GOOD]).encode()
    assert run_import(db, io.BytesIO(b"\xef\xbb\xbf" + body)).inserted == 4


def test_import_is_audited_with_counts_and_no_national_id(db: Db) -> None:
    run_import(db, extract(*GOOD))
    with db.tx() as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "vehicles.import"))
        assert entry.detail["inserted"] == 4
        assert entry.actor_type == "admin"
        assert not any(i in repr(entry.detail) for i in (ALICE, BOB, CAROL))


def test_many_rows_are_written_in_batches(db: Db) -> None:
    rows = [f"car,{n:04d}-AB,{national_id(n)}" for n in range(1, 2502)]
    assert run_import(db, extract(*rows)).inserted == 2501
    changed = [f"car,{n:04d}-AB,{national_id(n + 1)}" for n in range(1, 2502)]
    summary = run_import(db, extract(*changed))
    assert (summary.updated, summary.owner_changed, summary.unchanged) == (2501, 2501, 0)


# ---------------------------------------------------------------------------------------------
# The keyed hash


def test_stored_hash_is_not_the_id_and_depends_on_the_key(db: Db) -> None:
    run_import(db, extract(f"car,ABC-1234,{ALICE}"))
    (hashed,) = stored(db).values()
    assert ALICE not in hashed
    assert hashed == service.owner_key(ALICE, KEY)
    assert hashed == service.owner_key(f" {ALICE.lower()} ", KEY)  # the portal's input, canonical
    assert hashed != service.owner_key(ALICE, OTHER_KEY)
    assert len(hashed) == 64


@pytest.mark.parametrize(
    ("configured", "problem"),
    [
        (None, "not set"),
        (SecretStr(""), "not set"),
        (SecretStr("x" * 31), "shorter than 32"),
        (SecretStr("changeme" * 4), "placeholder"),
        (SecretStr("CHANGE-ME-please-to-a-real-secret-value"), "placeholder"),
        (SecretStr("a" * 40), "placeholder"),
    ],
)
def test_unsafe_hash_keys_are_refused(configured: SecretStr | None, problem: str) -> None:
    with pytest.raises(IdHashKeyInvalid, match=problem):
        service.id_hash_key(configured)


def test_a_random_hash_key_is_accepted() -> None:
    assert service.id_hash_key(SecretStr(KEY)) == KEY


# ---------------------------------------------------------------------------------------------
# All or nothing


def test_extract_with_bad_rows_imports_nothing_and_lists_each_line(db: Db) -> None:
    bad_id = ALICE[:-1] + str((int(ALICE[-1]) + 1) % 10)
    refused = refusal(
        db,
        extract(
            GOOD[0],
            f"bus,ABC-1111,{BOB}",  # line 3
            GOOD[1],
            f"car,ABC-123,{BOB}",  # line 5: a motorcycle shape
            f"car,DEF-2222,{bad_id}",  # line 6
            GOOD[2],
        ),
    )
    errors = [(e["line"], e["field"]) for e in refused.extra["errors"]]
    assert errors == [(3, "vehicle_type"), (5, "plate"), (6, "owner_id")]
    assert refused.extra["errors"][2]["message"] == "check digit does not match (mistyped number?)"
    assert bad_id not in repr(refused.extra)
    assert bad_id not in refused.detail
    assert refused.code == "import_invalid"
    assert stored(db) == {}


def test_refused_reimport_leaves_the_previous_extract_untouched(db: Db) -> None:
    rows = [f"car,{n:04d}-AB,{national_id(n)}" for n in range(1, 1500)]
    run_import(db, extract(*rows))
    before = stored(db)
    changed = [f"car,{n:04d}-AB,{national_id(n + 1)}" for n in range(1, 1500)]
    refusal(db, extract(*changed, "car,NOPE,x"))  # the first batch was already written
    assert stored(db) == before


def test_duplicate_plate_in_one_file_names_the_first_line(db: Db) -> None:
    refused = refusal(
        db, extract(f"car,ABC-1234,{ALICE}", f"motorcycle,ABC-1234,{BOB}", f"car,abc1234,{BOB}")
    )
    assert refused.extra["errors"] == [
        {"line": 4, "field": "plate", "message": "ABC-1234 (car) repeats line 2"}
    ]


def test_heavy_motorcycle_and_motorcycle_with_one_plate_are_duplicates(db: Db) -> None:
    refused = refusal(db, extract(f"motorcycle,XYZ-123,{BOB}", f"heavy_motorcycle,XYZ-123,{BOB}"))
    assert [e["line"] for e in refused.extra["errors"]] == [3]


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (b"", 1, "the file is empty"),
        (b"vehicle_type,plate,owner_id\n", 2, "no vehicle rows"),
        (b"\xef\xbb\xbfvehicle_type,plate,owner_id\n\n", 2, "no vehicle rows"),
        (b"plate,vehicle_type,owner_id\ncar,ABC-1234,A123456789\n", 1, "the header must be"),
        (b"car,ABC-1234,A123456789\n", 1, "the header must be"),
        (b"vehicle_type,plate,owner_id\ncar,ABC-1234,A\xe9\n", 2, "not UTF-8"),
        (b"vehicle_type,plate,owner_id\ncar,ABC-1234\n", 2, "expected 3 fields, found 2"),
        (b'vehicle_type,plate,owner_id\ncar,"ABC"-1234,A1\n', 2, "not readable as CSV"),
    ],
)
def test_unreadable_extracts_are_refused(db: Db, content: bytes, line: int, message: str) -> None:
    (error,) = refusal(db, io.BytesIO(content)).extra["errors"]
    assert error["line"] == line
    assert message in error["message"]


def test_listed_errors_are_capped_and_the_rest_counted(db: Db) -> None:
    refused = refusal(db, extract(*(f"car,ABC-{n:04d},nope" for n in range(1, 151))))
    assert len(refused.extra["errors"]) == service.MAX_LISTED_ERRORS
    assert refused.extra["unlisted_errors"] == 50
    assert "150 errors (50 more not listed)" in refused.detail


# ---------------------------------------------------------------------------------------------
# Owner changes


def _bindings(s: Session, plate: str) -> dict[str, Binding]:
    return {b.scope_id: b for b in queries.plate_history(s, "car", plate)}


def test_owner_change_ends_the_plates_bindings_at_each_scopes_next_cutover(db: Db) -> None:
    build_world(db)
    run_import(db, extract(f"car,ABC-1234,{ALICE}", f"car,KEP-1111,{BOB}"))
    with db.tx() as s:
        for scope in ("tpe-lots", "instant"):
            for plate in ("ABC-1234", "KEP-1111"):
                registry.bind(
                    s, db.clock, ADMIN, agent_id="cmj", scope_id=scope, vehicle_type="car",
                    plate=plate,
                )  # fmt: skip
    db.clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=TAIPEI))  # the lots binding is active
    summary = run_import(db, extract(f"car,ABC-1234,{BOB}", f"car,KEP-1111,{BOB}"))
    assert (summary.owner_changed, summary.bindings_ended, summary.unchanged) == (1, 2, 1)
    with db.tx() as s:
        sold = _bindings(s, "ABC-1234")
        assert sold["tpe-lots"].valid_to == datetime(2026, 11, 28, 4, 0, tzinfo=TAIPEI)
        assert sold["instant"].valid_to == db.clock.now()
        assert {b.end_reason for b in sold.values()} == {"owner_changed"}
        assert all(b.valid_to is None for b in _bindings(s, "KEP-1111").values())


def test_owner_change_of_a_plate_without_bindings_ends_nothing(db: Db) -> None:
    run_import(db, extract(f"car,ABC-1234,{ALICE}"))
    summary = run_import(db, extract(f"car,ABC-1234,{BOB}"))
    assert (summary.updated, summary.owner_changed, summary.bindings_ended) == (1, 1, 0)
    assert stored(db)[("car", "ABC-1234")] == service.owner_key(BOB, KEY)


# ---------------------------------------------------------------------------------------------
# Arbitrary input never crashes the importer


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.text(),
        st.lists(
            st.lists(
                st.sampled_from(["car", "ABC-1234", ALICE, "", '"', ",", "\n"]) | st.text()
            ).map(",".join),
            max_size=5,
        ).map(lambda rows: "\n".join(["vehicle_type,plate,owner_id", *rows])),
    ),
    raw=st.binary(max_size=40),
)
def test_arbitrary_input_gives_a_summary_or_an_import_invalid_refusal(
    db: Db, body: str, raw: bytes
) -> None:
    for content in (body.encode(), raw):
        with db.factory() as s:
            outcome = _import_or_refusal(s, db, content)
            if isinstance(outcome, ImportInvalid):
                assert outcome.extra["errors"]
                assert all(e["line"] >= 1 for e in outcome.extra["errors"])
            else:
                assert outcome.rows == s.scalar(select(func.count()).select_from(Vehicle))
            s.rollback()


def _import_or_refusal(s: Session, db: Db, content: bytes) -> ImportSummary | ImportInvalid:
    try:
        return service.import_extract(s, db.clock, ADMIN, io.BytesIO(content), KEY)
    except ImportInvalid as exc:
        return exc


def test_clock_time_is_stored_as_updated_at(db: Db) -> None:
    run_import(db, extract(f"car,ABC-1234,{ALICE}"))
    with db.tx() as s:
        vehicle = s.scalars(select(Vehicle)).one()
        assert vehicle.updated_at == db.clock.now().astimezone(UTC)
