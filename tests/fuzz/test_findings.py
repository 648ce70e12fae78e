"""What the fuzzers found, one input each, so the fixes stay fixed (fast and deterministic)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from platebind.billing import reconcile
from platebind.billing.errors import StatementCsvInvalid
from platebind.clock import parse_at
from platebind.parking.taipei import Check, check_lot
from platebind.plates import TariffClass
from platebind.roadside import importer
from platebind.roadside.errors import RoadsideBillInvalid, RoadsideFileInvalid
from platebind.tariffs.errors import TariffFileInvalid
from platebind.tariffs.feed import load_feed, read_lot_tariffs
from platebind.tariffs.payex import read_payex
from platebind.tariffs.payex_words import classes_named
from tests.fuzz.common import deep_json, taipei_lots

CHARGE = "00000000-0000-0000-0000-000000000000"
BILL = {
    "bill_no": "A1",
    "vehicle_type": "car",
    "plate": "ABC-1234",
    "segment": "ZX0401",
    "started_at": "2026-11-26T10:00+08:00",
    "issued_at": "2026-11-26T11:00+08:00",
}


@pytest.mark.parametrize("text", ["0001-01-01T00:00", "9999-12-31T23:59:59-12:00", "0001-01-01"])
def test_a_time_beyond_the_calendar_in_utc_is_a_value_error(text: str) -> None:
    # Was OverflowError: reconcile uploads and roadside files crashed, the CLI's --at too.
    with pytest.raises(ValueError, match="out of range"):
        parse_at(text)


def test_a_reconcile_line_with_a_year_one_time_is_listed_not_raised() -> None:
    upload = f"charge_id,kind,amount,at\n{CHARGE},paid,1,0001-01-01T00:00\n".encode()
    with pytest.raises(StatementCsvInvalid) as refused:
        reconcile.parse_upload(upload)
    assert "line 2" in refused.value.extra["errors"][0]


@pytest.mark.parametrize("amount", [str(2**63), str(-(2**63) - 1), "9" * 4000])
def test_a_reconcile_amount_beyond_64_bits_is_refused(amount: str) -> None:
    # Was accepted, and the report could not be encoded: a 500 from the API.
    upload = f"charge_id,kind,amount\n{CHARGE},paid,{amount}\n".encode()
    with pytest.raises(StatementCsvInvalid) as refused:
        reconcile.parse_upload(upload)
    assert "out of range" in refused.value.extra["errors"][0]
    largest = f"charge_id,kind,amount\n{CHARGE},paid,{2**63 - 1}\n".encode()
    assert reconcile.parse_upload(largest).lines[0].amount == 2**63 - 1


@pytest.mark.parametrize("amount", ["²", "9" * 5000, "١٢"])
def test_a_roadside_amount_of_other_digits_is_refused_as_a_bill(amount: str) -> None:
    # "²".isdigit() is true and int("²") raises ValueError: the import crashed.
    with pytest.raises(RoadsideBillInvalid, match="whole number"):
        importer.record_of({**BILL, "amount": amount})


def test_a_roadside_time_out_of_range_is_refused_as_a_bill() -> None:
    with pytest.raises(RoadsideBillInvalid, match="started_at"):
        importer.record_of({**BILL, "started_at": "0001-01-01T00:00"})


def test_a_roadside_file_with_a_cell_beyond_the_csv_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bills.csv"
    path.write_bytes(",".join(BILL).encode() + b"\n" + b"x" * 200_000 + b"\n")
    with pytest.raises(RoadsideFileInvalid, match="not readable as CSV"):
        list(importer.read_lines(path))


@pytest.mark.parametrize(
    "content",
    [deep_json(100_000), b'{"data": {"park": [' + b"1" * 5000 + b"]}}"],
    ids=["deep", "digits"],
)
def test_a_lot_feed_nested_too_deeply_or_with_a_huge_number_is_refused(
    tmp_path: Path, content: bytes
) -> None:
    # Was RecursionError / ValueError out of `lot import-taipei` and `tariff report`.
    path = tmp_path / "feed.json"
    path.write_bytes(content)
    with pytest.raises(TariffFileInvalid, match="not a readable JSON file"):
        load_feed(path)


@pytest.mark.parametrize("capacity", [[], {}, 1e999, float("nan"), "x"])
def test_a_capacity_that_is_not_a_number_reads_as_unknown(capacity: object) -> None:
    # `tariff report` crashed on a list or 1e999 in totalcar (TypeError, OverflowError).
    lot = {**taipei_lots()[0], "totalcar": capacity}
    assert read_lot_tariffs(lot).text == lot["payex"]


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b"], ids=["nul", "surrogate"])
@pytest.mark.parametrize("field", ["name", "address", "payex"])
def test_a_lot_with_text_no_database_can_store_is_refused(text: str, field: str) -> None:
    # A JSON file can carry both as escapes; PostgreSQL refused the NUL (DataError) and both
    # databases the surrogate (UnicodeEncodeError): `lot import-taipei` crashed.
    lot = json.loads(json.dumps({**taipei_lots()[0], field: text}))
    check = Check()
    assert check_lot(1, lot, check) is None
    assert any("NUL character or a lone surrogate" in str(e) for e in check.errors)


def test_the_real_feed_has_no_such_text() -> None:
    check = Check()
    records = [check_lot(i, lot, check) for i, lot in enumerate(taipei_lots()[:200], start=1)]
    assert not [e for e in check.errors if e.field == "text"]
    assert any(records)


def test_a_long_run_of_digits_is_read_in_linear_time() -> None:
    # 「\d+呎貨櫃車」 was searched from every digit of a run: 8,000 digits took 0.25 s of CPU,
    # 80,000 about 25 s. Now it is a few milliseconds.
    started = time.thread_time()
    reading = read_payex("小型車：計時 150元/時，全程以半小時計。" + "1" * 80_000)
    assert time.thread_time() - started < 0.5
    assert reading[TariffClass.CAR].unread  # the run itself is reported, not guessed at
    assert classes_named("40呎貨櫃車") == {"other"}


@pytest.mark.parametrize("minutes", ["0", "99999999999999999999"])
def test_free_minutes_out_of_range_are_a_problem_not_a_crash(minutes: str) -> None:
    # 「0分鐘內離場免費」 built Grace(minutes=0): a pydantic ValidationError out of read_payex,
    # so out of `lot import-taipei` and `tariff parse`.
    reading = read_payex(f"計時：30元/時，{minutes}分鐘內離場免費。")
    car = reading[TariffClass.CAR]
    assert car.tariff is None
    assert any("is not a grace period" in p for p in car.problems)
