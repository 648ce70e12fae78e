"""The billing routes' success answers conform to the served OpenAPI document.

Fuzzing (``tests/api/test_schema.py``) reaches them with ids that find nothing and days without
lines; here every operation answers about real charges and a day full of lines — the streamed
JSON statement, the CSV one and the reconciliation report included — through the same checks.
"""

from __future__ import annotations

from typing import Any

import pytest
from schemathesis import Response

from tests.api.conftest import LiveServer
from tests.api.test_schema import schema, validate
from tests.billing.conftest import Billing
from tests.billing.test_statements import AFTER_DAY, a_day_of_business


@pytest.fixture
def served(billing: Billing, live_server: LiveServer) -> tuple[str, dict[str, str]]:
    a_day_of_business(billing)
    billing.charge("s-waiting", match="fuzzy", raw_plate="A8C-1234")
    billing.at(AFTER_DAY)
    return live_server.base_url, {"Authorization": f"Bearer {billing.keys['cmj']}"}


def call(served: tuple[str, dict[str, str]], path: str, method: str, **kwargs: Any) -> Response:
    base_url, auth = served
    headers = {**auth, **kwargs.pop("headers", {})}
    case = schema[path][method].Case(**kwargs)
    response = case.call(base_url=base_url, headers=headers)
    validate(case, response, headers)
    return response


def test_every_billing_operation_answers_real_data_as_documented(
    served: tuple[str, dict[str, str]],
) -> None:
    listed = call(served, "/v1/charges", "GET", query={"limit": 200}).json()["items"]
    assert len(listed) == 6
    for charge in listed:
        by_id = {"charge_id": charge["id"]}
        assert (
            call(served, "/v1/charges/{charge_id}", "GET", path_parameters=by_id).status_code == 200
        )
    waiting = next(c for c in listed if c["status"] == "requested")
    settle = call(
        served,
        "/v1/charges/{charge_id}/settle",
        "POST",
        path_parameters={"charge_id": waiting["id"]},
        body={"outcome": "paid", "reference": "tx-9"},
        media_type="application/json",
        headers={"Idempotency-Key": "k-1"},
    )
    assert settle.json()["status"] == "paid"
    day = {"date": "2026-11-26"}
    statement = call(served, "/v1/statements/{date}", "GET", path_parameters=day)
    assert len(statement.json()["lines"]) == 4
    as_csv = call(
        served, "/v1/statements/{date}", "GET", path_parameters=day, headers={"Accept": "text/csv"}
    )
    report = call(
        served,
        "/v1/statements/{date}/reconcile",
        "POST",
        path_parameters=day,
        body=as_csv.content,
        media_type="text/csv",
    )
    assert report.json()["matched"] == 4
    refused = call(
        served,
        "/v1/statements/{date}/reconcile",
        "POST",
        path_parameters=day,
        body=b"charge_id\n",
        media_type="text/csv",
    )
    assert refused.json()["code"] == "statement_csv_invalid"
