"""Statements: per agent per Taipei day, lines dated by when they happened, totals that add up,
JSON and CSV that agree, and a past day that never changes."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest

from platebind.billing import charges, statements
from platebind.billing.errors import StatementDayUnavailable
from platebind.billing.statements import Statement
from tests.billing.conftest import Billing
from tests.conftest import ADMIN, T0

DAY = date(2026, 11, 26)  # T0 is 10:00 that day in Taipei
MIDNIGHT = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # 27 November 00:00 in Taipei
AFTER_DAY = MIDNIGHT + statements.FINAL_AFTER


def statement(billing: Billing, day: date = DAY, agent: str = "cmj") -> Statement:
    return statements.statement_of(agent, day, billing.db.clock.now())


def render(billing: Billing, media: str, day: date = DAY, agent: str = "cmj") -> bytes:
    with billing.db.tx() as s:
        return b"".join(statements.stream(s, statement(billing, day, agent), media))


def as_json(billing: Billing, day: date = DAY, agent: str = "cmj") -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(render(billing, "json", day, agent))
    return doc


def as_csv(billing: Billing, day: date = DAY, agent: str = "cmj") -> list[dict[str, str]]:
    text = render(billing, "csv", day, agent).decode()
    return list(csv.DictReader(io.StringIO(text, newline="")))


def a_day_of_business(billing: Billing) -> None:
    """cmj: two paid, one declined, one correction on DAY; pi: one paid; a free stay."""
    paid = billing.charge("s-paid", amount=75)
    billing.db.clock.advance(timedelta(minutes=1))
    billing.pay(paid, "tx-1")
    other = billing.charge("s-other", amount=40)
    billing.pay(other, "tx-2")
    declined = billing.charge("s-declined", amount=110)
    billing.settle(declined, "declined", reason="card_expired")
    billing.charge("s-free", amount=0)
    billing.pay(billing.charge("s-pi", agent="pi", amount=30, plate="XYZ-5678"), "pi-1")
    billing.at(MIDNIGHT - timedelta(microseconds=1))  # 23:59:59.999999 in Taipei
    with billing.db.tx() as s:
        charges.correct(
            s, billing.db.clock.now(), ADMIN, charge_id=paid.id, amount=-25, reason="grace"
        )


def test_totals_are_the_sums_of_the_lines(billing: Billing) -> None:
    a_day_of_business(billing)
    billing.at(AFTER_DAY)
    doc = as_json(billing)
    assert [(line["kind"], line["amount"]) for line in doc["lines"]] == [
        ("paid", 75),
        ("paid", 40),
        ("declined", 110),
        ("correction", -25),
    ]
    totals = doc["totals"]
    for kind in ("paid", "declined", "correction"):
        mine = [line["amount"] for line in doc["lines"] if line["kind"] == kind]
        assert totals[kind] == {"count": len(mine), "amount": sum(mine)}
    assert totals["net"] == 75 + 40 - 25
    assert totals["lines"] == len(doc["lines"]) == 4
    assert (doc["agent"], doc["date"], doc["final"], doc["currency"]) == (
        "cmj",
        "2026-11-26",
        True,
        "TWD",
    )
    assert (doc["starts_at"], doc["ends_at"]) == (
        "2026-11-26T00:00:00+08:00",
        "2026-11-27T00:00:00+08:00",
    )
    assert doc["lines"][-1]["at"] == "2026-11-26T23:59:59.999999+08:00"
    assert doc["lines"][-1]["corrects_charge_id"] == doc["lines"][0]["charge_id"]
    assert as_json(billing, agent="pi")["totals"]["net"] == 30


def test_a_line_belongs_to_the_taipei_day_it_happened_on(billing: Billing) -> None:
    late = billing.charge("s-late")
    early = billing.charge("s-early")
    billing.at(MIDNIGHT - timedelta(seconds=1))
    billing.pay(late, "tx-late")
    billing.at(MIDNIGHT)  # 00:00 belongs to the next day
    billing.pay(early, "tx-early")
    billing.at(MIDNIGHT + timedelta(days=1, minutes=5))
    assert [line["reference"] for line in as_json(billing)["lines"]] == ["tx-late"]
    next_day = as_json(billing, DAY + timedelta(days=1))
    assert [line["reference"] for line in next_day["lines"]] == ["tx-early"]


def test_a_past_day_never_changes(billing: Billing) -> None:
    a_day_of_business(billing)
    waiting = billing.charge("s-waiting", amount=55)  # requested on DAY, settled the next day
    billing.at(AFTER_DAY)
    before_json, before_csv = render(billing, "json"), render(billing, "csv")
    billing.db.clock.advance(timedelta(hours=3))
    billing.pay(waiting, "tx-next-day")
    first = as_json(billing)["lines"][0]
    with billing.db.tx() as s:  # a correction of DAY's charge is a line of the day it is made
        charges.correct(
            s,
            billing.db.clock.now(),
            ADMIN,
            charge_id=uuid.UUID(first["charge_id"]),
            amount=-5,
            reason="x",
        )
    billing.at(T0 + timedelta(days=30))
    billing.charge("s-expired", amount=20)
    billing.at(T0 + timedelta(days=33))
    with billing.db.tx() as s:
        charges.expire_unsettled(s, billing.db.clock.now())
    assert render(billing, "json") == before_json
    assert render(billing, "csv") == before_csv
    next_day = as_json(billing, DAY + timedelta(days=1))
    assert [(line["kind"], line["amount"]) for line in next_day["lines"]] == [
        ("paid", 55),
        ("correction", -5),
    ]


def test_json_and_csv_agree(billing: Billing) -> None:
    a_day_of_business(billing)
    billing.charge("s-fuzzy", match="fuzzy", raw_plate="A8C-1234", place=None)
    billing.settle(billing.charge("s-x", amount=5), "declined")
    billing.at(AFTER_DAY)
    doc = as_json(billing)
    rows = as_csv(billing)
    assert list(rows[0]) == list(statements.COLUMNS)
    expected = [{k: "" if v is None else str(v) for k, v in line.items()} for line in doc["lines"]]
    assert rows == expected
    assert (
        sum(int(row["amount"]) for row in rows if row["kind"] != "declined")
        == (doc["totals"]["net"])
    )


def test_a_statement_streams_in_chunks_and_stays_whole(
    billing: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statements, "CHUNK", 3)
    for i in range(11):
        billing.pay(billing.charge(f"s-{i:02d}", amount=i + 1), f"tx-{i:02d}")
    billing.at(AFTER_DAY)
    with billing.db.tx() as s:
        chunks = list(statements.stream(s, statement(billing), "json"))
    assert len(chunks) == 4  # three chunks of 3 lines (the first with the head), the rest
    doc = orjson.loads(b"".join(chunks))
    assert [line["reference"] for line in doc["lines"]] == [f"tx-{i:02d}" for i in range(11)]
    assert doc["totals"]["paid"] == {"count": 11, "amount": sum(range(1, 12))}
    assert len(as_csv(billing)) == 11


def test_an_empty_day_has_a_statement_of_nothing(billing: Billing) -> None:
    billing.at(AFTER_DAY)
    doc = as_json(billing)
    assert doc["lines"] == []
    assert doc["totals"] == {
        "paid": {"count": 0, "amount": 0},
        "declined": {"count": 0, "amount": 0},
        "correction": {"count": 0, "amount": 0},
        "net": 0,
        "lines": 0,
    }
    assert render(billing, "csv").decode() == ",".join(statements.COLUMNS) + "\r\n"


def test_a_day_is_final_a_few_minutes_after_it_ends(billing: Billing) -> None:
    assert not statement(billing).final  # today
    billing.at(AFTER_DAY - timedelta(seconds=1))
    assert not statement(billing).final
    billing.at(AFTER_DAY)
    assert statement(billing).final


@pytest.mark.parametrize("day", [date(2026, 11, 27), date(1999, 12, 31), date(9999, 12, 31)])
def test_a_day_not_begun_or_before_2000_has_no_statement(billing: Billing, day: date) -> None:
    with pytest.raises(StatementDayUnavailable):
        statement(billing, day)
