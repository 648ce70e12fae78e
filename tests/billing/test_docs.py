"""The examples of docs/charges.md are what the code produces and accepts."""

from __future__ import annotations

import csv
import inspect
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from platebind.billing import errors, reconcile, statements
from platebind.billing.schemas import ChargeOut
from platebind.errors import DomainError
from tests.conftest import T0

PAGE = Path(__file__).resolve().parents[2] / "docs" / "charges.md"


def block(name: str) -> str:
    found = re.search(
        rf"<!-- {name} -->\n(.*?)<!-- /{name} -->", PAGE.read_text(encoding="utf-8"), re.S
    )
    assert found is not None, f"docs/charges.md has no {name} block"
    return re.sub(r"^```\w*\n|```\n?$", "", found[1].strip() + "\n", flags=re.M)


def test_the_csv_example_is_a_statement_reconciliation_accepts() -> None:
    text = block("statement-csv")
    assert text.splitlines()[0] == ",".join(statements.COLUMNS)
    upload = reconcile.parse_upload(text.encode())
    assert len(upload.lines) == 4


def test_the_json_totals_are_the_sums_of_the_csv_lines() -> None:
    rows = list(csv.DictReader(io.StringIO(block("statement-csv"))))
    doc = json.loads(block("statement-json"))
    for kind in ("paid", "declined", "correction"):
        amounts = [int(r["amount"]) for r in rows if r["kind"] == kind]
        assert doc["totals"][kind] == {"count": len(amounts), "amount": sum(amounts)}
    assert (
        doc["totals"]["net"]
        == doc["totals"]["paid"]["amount"] + (doc["totals"]["correction"]["amount"])
    )
    assert doc["totals"]["lines"] == len(rows)
    day = statements.statement_of("cmj", date(2026, 11, 26), T0 + timedelta(days=1))
    assert set(doc) == {*statements.header_json(day), "lines", "totals"}


def test_the_webhook_example_is_a_whole_charge() -> None:
    event = json.loads(block("charge-event"))
    assert event["type"] == "charge.requested"
    ChargeOut.model_validate(event["data"])
    assert set(event["data"]) == set(ChargeOut.model_fields)


def test_every_billing_refusal_is_in_the_table() -> None:
    rows = [line.split("|")[1:4] for line in block("billing-codes").splitlines()[2:]]
    documented: dict[str, Any] = {code.strip(" `"): int(status) for code, status, _ in rows}
    defined = {
        cls.code: cls.status
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, DomainError) and cls.__module__ == errors.__name__
    }
    assert documented == defined
