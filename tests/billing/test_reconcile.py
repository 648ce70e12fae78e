"""Reconciliation: the agent's own CSV against our statement finds each missing, extra and
mismatched line, and nothing when both agree."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from platebind.billing import reconcile, statements
from platebind.billing.errors import StatementCsvInvalid
from platebind.billing.schemas import ReconcileReport
from tests.billing.conftest import Billing
from tests.billing.test_statements import AFTER_DAY, DAY, MIDNIGHT, a_day_of_business, render


def check(billing: Billing, upload: bytes, agent: str = "cmj") -> ReconcileReport:
    parsed = reconcile.parse_upload(upload)
    with billing.db.tx() as s:
        statement = statements.statement_of(agent, DAY, billing.db.clock.now())
        return reconcile.reconcile(s, statement, parsed)


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def to_csv(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or list(statements.COLUMNS))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in writer.fieldnames})
    return out.getvalue().encode()


@pytest.fixture
def ours(billing: Billing) -> list[dict[str, str]]:
    """cmj's statement of DAY as CSV rows (paid 75, paid 40, declined 110, correction -25)."""
    a_day_of_business(billing)
    billing.at(AFTER_DAY)
    return rows_of(render(billing, "csv"))


def test_our_own_csv_reconciles_with_nothing_to_report(
    billing: Billing, ours: list[dict[str, str]]
) -> None:
    report = check(billing, render(billing, "csv"))
    assert (report.ours, report.theirs, report.matched) == (4, 4, 4)
    assert (report.missing, report.extra, report.mismatched) == ([], [], [])
    assert (report.agent, report.date, report.final) == ("cmj", DAY, True)


def test_a_line_the_agent_lacks_is_missing(billing: Billing, ours: list[dict[str, str]]) -> None:
    report = check(billing, to_csv([ours[0], ours[2], ours[3]]))
    assert [(m.charge_id, m.kind, m.amount) for m in report.missing] == [
        (ours[1]["charge_id"], "paid", 40)
    ]
    assert (report.matched, report.extra, report.mismatched) == (3, [], [])


def test_lines_we_lack_are_extra_with_the_day_we_have_them_on(
    billing: Billing, ours: list[dict[str, str]]
) -> None:
    next_day = billing.charge("s-next", amount=20)
    billing.at(MIDNIGHT + timedelta(hours=1))
    billing.pay(next_day, "tx-next")  # on our books on 27 November
    unknown = {**ours[0], "charge_id": str(uuid.uuid4())}
    moved = {**ours[0], "charge_id": str(next_day.id), "amount": "20", "reference": "tx-next"}
    report = check(billing, to_csv([*ours, unknown, moved, ours[1]]))
    assert [(e.line, e.charge_id, e.duplicate, e.found_on) for e in report.extra] == [
        (6, unknown["charge_id"], False, None),
        (7, str(next_day.id), False, DAY + timedelta(days=1)),
        (8, ours[1]["charge_id"], True, None),
    ]
    assert (report.matched, report.missing, report.mismatched) == (4, [], [])


def test_lines_that_differ_are_mismatched_by_column(
    billing: Billing, ours: list[dict[str, str]]
) -> None:
    changed = [
        {**ours[0], "amount": "70"},
        {**ours[1], "reference": "tx-2-typo"},
        {**ours[2], "at": "2026-11-26T03:00:00+00:00"},
        ours[3],
    ]
    report = check(billing, to_csv(changed))
    found = {
        m.line: {k: (d.ours, d.theirs) for k, d in m.differences.items()} for m in report.mismatched
    }
    assert found == {
        2: {"amount": (75, 70)},
        3: {"reference": ("tx-2", "tx-2-typo")},
        4: {"at": (ours[2]["at"], "2026-11-26T11:00:00+08:00")},
    }
    assert report.matched == 1


def test_only_the_columns_sent_are_compared_and_any_offset_will_do(
    billing: Billing, ours: list[dict[str, str]]
) -> None:
    in_utc = [
        {**row, "at": datetime.fromisoformat(row["at"]).astimezone(UTC).isoformat()} for row in ours
    ]
    report = check(billing, to_csv(in_utc, ["charge_id", "kind", "amount", "at"]))
    assert (report.matched, report.mismatched) == (4, [])
    bom = "\ufeff".encode() + to_csv(ours, ["charge_id", "kind", "amount"])
    assert check(billing, bom).matched == 4


def test_another_agents_upload_finds_only_its_own_lines(
    billing: Billing, ours: list[dict[str, str]]
) -> None:
    report = check(billing, to_csv(ours), agent="pi")
    assert report.ours == 1
    assert report.matched == 0
    assert len(report.missing) == 1
    assert [e.found_on for e in report.extra] == [None] * 4  # cmj's lines are not pi's


@pytest.mark.parametrize(
    ("upload", "detail", "errors"),
    [
        (b"", "the upload is empty", None),
        (b"\xff\xfe", "not UTF-8", None),
        (b"charge_id,amount\n", "lacks kind", None),
        (
            b"charge_id,kind,amount\nnope,paid,1\n"
            + str(uuid.uuid4()).encode()
            + b",refund,1\n\n"
            + str(uuid.uuid4()).encode()
            + b",paid,ten\n"
            + str(uuid.uuid4()).encode()
            + b",paid,1,extra\n",
            "4 line(s) cannot be read",
            [
                "line 2: charge_id 'nope' is not a charge id",
                "line 3: kind must be one of paid, declined, correction",
                "line 5: invalid literal for int() with base 10: 'ten'",
                "line 6: 4 cells, the header has 3",
            ],
        ),
        (b'charge_id,kind,amount\n"unterminated\x00', "line", None),
    ],
)
def test_an_unreadable_upload_is_refused_line_by_line(
    upload: bytes, detail: str, errors: list[str] | None
) -> None:
    with pytest.raises(StatementCsvInvalid) as refused:
        reconcile.parse_upload(upload)
    assert detail in refused.value.detail
    if errors is not None:
        assert refused.value.extra["errors"] == errors
