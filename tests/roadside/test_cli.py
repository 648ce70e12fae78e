"""``platebind roadside key|rules|segment|import``, in-process as a script drives them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from platebind.registry import agents
from platebind.roadside.rules import car_fee
from platebind.tariffs.model import tariff_from_json
from tests.cli_helpers import Cli
from tests.registry.test_cutover import tpe
from tests.roadside.conftest import SEGMENT, Roadside

HEADER = ["bill_no", "vehicle_type", "plate", "segment", "started_at", "ended_at", "amount"]
HEADER += ["issued_at", "due_at"]


def bill_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def line(bill_no: str, plate: str = "ABC-1234", **extra: Any) -> dict[str, Any]:
    return {
        "bill_no": bill_no,
        "vehicle_type": "car",
        "plate": plate,
        "segment": SEGMENT,
        "started_at": "2026-11-27T10:00",
        "ended_at": "2026-11-27T11:10",
        "issued_at": "2026-11-27T11:15",
        **extra,
    }


GOOD = [
    line("F-1"),
    line("F-2", "XYZ-5678", amount="60", due_at="2026-12-31T00:00"),
    line("F-3", "123-ABC", vehicle_type="motorcycle", ended_at=""),
    line("F-4", "123-ABC", vehicle_type="motorcycle", ended_at=""),  # second that day: void
]
BAD = [
    line("F-5", "not a plate"),
    line("F-6", segment="NOWHERE"),
    line("F-7", started_at="yesterday"),
    line("F-8", amount="12.5"),
    line("F-9", vehicle_type="car", ended_at=""),
]


def test_an_import_with_bad_lines_imports_nothing_and_lists_every_one(
    roadside: Roadside, tmp_path: Path
) -> None:
    cli = Cli(roadside.db.url)
    path = bill_file(tmp_path / "bills.csv", GOOD + BAD)
    refusal = cli.refusal("roadside", "import", str(path), at="2026-11-27T12:00")
    assert refusal["code"] == "roadside_file_invalid"
    reasons = {e["line"]: (e["bill_no"], e["code"]) for e in refusal["errors"]}
    assert reasons == {
        6: ("F-5", "invalid_plate"),
        7: ("F-6", "roadside_bill_invalid"),
        8: ("F-7", "roadside_bill_invalid"),
        9: ("F-8", "roadside_bill_invalid"),
        10: ("F-9", "roadside_bill_invalid"),
    }
    assert "started_at" in refusal["errors"][2]["reason"]
    assert roadside.bills() == []
    # Without --json, the lines are listed on stderr.
    text = cli.run("roadside", "import", str(path), at="2026-11-27T12:00")
    assert text.exit_code == 1
    assert "line 6: F-5: invalid_plate" in text.stderr


def test_a_partial_import_keeps_the_good_lines_and_a_rerun_finds_them_issued(
    roadside: Roadside, tmp_path: Path
) -> None:
    roadside.bind("jko", "ABC-1234")
    cli = Cli(roadside.db.url)
    path = bill_file(tmp_path / "bills.csv", GOOD + BAD)
    doc = cli.json("roadside", "import", str(path), "--partial", at="2026-11-27T12:00")
    assert (doc["rows"], doc["imported"], doc["voided"], doc["auto_paid"]) == (9, 4, 1, 1)
    assert [e["line"] for e in doc["rejected"]] == [6, 7, 8, 9, 10]
    assert [
        (b.source_id, b.status) for b in sorted(roadside.bills(), key=lambda b: b.source_id)
    ] == [
        ("F-1", "unpaid"),
        ("F-2", "unpaid"),
        ("F-3", "unpaid"),
        ("F-4", "void"),
    ]
    assert (roadside.bill("F-1").amount, roadside.bill("F-2").amount) == (45, 60)
    assert roadside.row("F-1").issuer == "import"
    (charge,) = roadside.charges()
    assert (charge.agent_id, charge.source_id) == ("jko", "F-1")
    again = cli.json("roadside", "import", str(path), "--partial", at="2026-11-27T13:00")
    assert (again["imported"], again["duplicates"], len(again["rejected"])) == (0, 4, 5)
    reused = bill_file(tmp_path / "reused.csv", [line("F-1", "KLM-0001")])
    refusal = cli.refusal("roadside", "import", str(reused), at="2026-11-27T13:00")
    assert refusal["errors"][0]["code"] == "bill_no_reused"


def test_a_file_without_the_required_columns_is_refused(roadside: Roadside, tmp_path: Path) -> None:
    path = tmp_path / "bills.csv"
    path.write_text("bill_no,plate\nF-1,ABC-1234\n", encoding="utf-8")
    refusal = Cli(roadside.db.url).refusal("roadside", "import", str(path))
    assert refusal["code"] == "roadside_file_invalid"
    assert "vehicle_type" in refusal["detail"]


def test_keys_rules_and_segments(roadside: Roadside) -> None:
    cli = Cli(roadside.db.url)
    issued = cli.json("roadside", "key", "meter-0042")
    assert issued["warden"] == "meter-0042"
    with roadside.db.tx() as s:
        key = agents.authenticate(s, issued["api_key"])
        assert key is not None
        assert (key.kind, key.subject_id) == ("warden", "meter-0042")
    shown = cli.json("roadside", "rules", "tpe-roadside")
    assert shown == {
        "scope": "tpe-roadside",
        "motorcycle_per_entry": 20,
        "day_boundary": "00:00",
        "due_days": 7,
        "notice_days": 15,
        "surcharge": 30,
    }
    changed = cli.json(
        "roadside", "rules", "tpe-roadside", "--due-days", "10", "--day-boundary", "02:00"
    )
    assert (changed["due_days"], changed["day_boundary"], changed["surcharge"]) == (10, "02:00", 30)
    assert cli.json("roadside", "rules", "tpe-roadside") == changed
    assert cli.refusal("roadside", "rules", "tpe-roadside", "--day-boundary", "25:00")["code"] == (
        "invalid_input"
    )
    assert cli.refusal("roadside", "rules", "nowhere")["code"] == "scope_not_found"
    added = cli.json(
        "roadside", "segment", "add", "ZX0500", "--scope", "tpe-roadside", "--name", "仁愛路四段",
        "--tariff", "計時：40元/時，全程以半小時計。",
    )  # fmt: skip
    tariff = tariff_from_json(added["car_tariff"])
    # 40 TWD an hour by the half hour: 10:00-11:10 is three half hours at 20 TWD.
    assert car_fee(tariff, tpe("2026-11-27 10:00"), tpe("2026-11-27 11:10")).amount == 60
    listed = cli.json("roadside", "segment", "list", "--scope", "tpe-roadside")
    assert [s["id"] for s in listed] == ["ZX0401", "ZX0402", "ZX0500"]
    unreadable = cli.refusal(
        "roadside", "segment", "add", "ZX0501", "--scope", "tpe-roadside", "--name", "某路",
        "--tariff", "計時：每小時收費依現場公告。",
    )  # fmt: skip
    assert unreadable["code"] == "tariff_unreadable"
    lots = cli.refusal(
        "roadside", "segment", "add", "ZX0502", "--scope", "tpe-lots", "--name", "某路",
        "--tariff", "計時：30元/時，全程以半小時計。",
    )  # fmt: skip
    assert lots["code"] == "invalid_input"
