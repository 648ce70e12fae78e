"""``platebind statements export`` and ``platebind charges list|correct`` in-process, through
the root app (so their registration is tested too), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from platebind.cli import app
from tests.billing.conftest import Billing
from tests.billing.test_statements import a_day_of_business, render

AFTER_DAY = "2026-11-27T00:05"  # Taipei time: the 26th is over and final


def run(billing: Billing, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--database-url", billing.db.url])


def run_json(billing: Billing, *args: str, exit_code: int = 0) -> Any:
    result = run(billing, *args, "--json")
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_export_writes_every_agents_statement(billing: Billing, tmp_path: Path) -> None:
    a_day_of_business(billing)
    out = tmp_path / "statements"
    doc = run_json(
        billing, "statements", "export", "2026-11-26", "--dir", str(out), "--at", AFTER_DAY
    )
    assert [(f["agent"], f["lines"]) for f in doc["files"]] == [("cmj", 4), ("jko", 0), ("pi", 1)]
    assert doc["lines"] == 5
    assert sorted(p.name for p in out.iterdir()) == [
        "cmj-2026-11-26.csv",
        "jko-2026-11-26.csv",
        "pi-2026-11-26.csv",
    ]
    billing.at(billing.db.clock.now().replace(year=2027))
    for agent in ("cmj", "jko", "pi"):
        written = (out / f"{agent}-2026-11-26.csv").read_bytes()
        assert written == render(billing, "csv", agent=agent)
    text = run(billing, "statements", "export", "2026-11-26", "--dir", str(out), "--at", AFTER_DAY)
    assert text.exit_code == 0, text.output
    assert "3 statements of 2026-11-26, 5 lines, in" in text.stdout


def test_export_refuses_a_day_that_is_not_over(billing: Billing, tmp_path: Path) -> None:
    doc = run_json(
        billing,
        "statements",
        "export",
        "2026-11-26",
        "--dir",
        str(tmp_path / "out"),
        "--at",
        "2026-11-27T00:04",
        exit_code=1,
    )
    assert doc["code"] == "statement_not_final"
    assert "2026-11-27T00:05:00+08:00" in doc["detail"]
    assert not (tmp_path / "out").exists()
    bad = run(billing, "statements", "export", "26/11/2026", "--dir", str(tmp_path))
    assert bad.exit_code == 2


def test_charges_list_shows_the_latest_first(billing: Billing) -> None:
    a_day_of_business(billing)
    billing.db.clock.advance(timedelta(minutes=1))
    waiting = billing.charge("s-waiting")
    listed = run_json(billing, "charges", "list", "--agent", "cmj")
    assert listed[0]["id"] == str(waiting.id)
    assert listed[1]["corrects_charge_id"] is not None  # the correction, made just before
    assert {c["agent"] for c in listed} == {"cmj"}
    assert len(listed) == 6  # paid, paid, declined, free, correction, waiting
    requested = run_json(billing, "charges", "list", "--status", "requested")
    assert [c["id"] for c in requested] == [str(waiting.id)]
    unknown = run_json(billing, "charges", "list", "--agent", "nobody", exit_code=1)
    assert unknown["code"] == "agent_not_found"
    bad = run_json(billing, "charges", "list", "--status", "lost", exit_code=1)
    assert bad["code"] == "invalid_input"
    table = run(billing, "charges", "list", "--limit", "2")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == [
        "id", "agent", "status", "TWD", "plate", "place", "requested", "settled", "note"
    ]  # fmt: skip
    assert table.stdout.rstrip().endswith("2 charges")


def test_charges_correct_credits_the_agent(billing: Billing) -> None:
    charge = billing.charge("s-1", amount=75)
    billing.pay(charge)
    doc = run_json(
        billing,
        "charges", "correct", str(charge.id), "--amount", "-30", "--reason", "grace period",
        "--at", "2026-11-26T12:00",
    )  # fmt: skip
    assert (doc["amount"], doc["corrects_charge_id"], doc["reason"]) == (
        -30,
        str(charge.id),
        "grace period",
    )
    assert doc["settled_at"] == "2026-11-26T12:00:00+08:00"
    again = run_json(
        billing, "charges", "correct", str(charge.id), "--amount", "-50", "--reason", "x",
        exit_code=1,
    )  # fmt: skip
    assert (again["code"], again["remaining"]) == ("correction_exceeds_charge", 45)
    bad = run_json(
        billing, "charges", "correct", "nope", "--amount", "-1", "--reason", "x", exit_code=1
    )
    assert bad["code"] == "invalid_input"


def test_an_export_clears_what_a_killed_export_left_behind(
    billing: Billing, tmp_path: Path
) -> None:
    """A SIGKILL between writing and renaming leaves a hidden temporary file (the crash
    harness, tests/chaos, kills exports there); the next export removes it."""
    a_day_of_business(billing)
    out = tmp_path / "statements"
    out.mkdir()
    leftover = out / ".cmj-2026-11-26.csv.k1ll3d"
    leftover.write_bytes(b"charge_id,half a li")
    unrelated = out / ".cmj-2026-11-27.csv.k1ll3d"  # another day's: not this export's
    unrelated.write_bytes(b"")
    run_json(billing, "statements", "export", "2026-11-26", "--dir", str(out), "--at", AFTER_DAY)
    assert not leftover.exists()
    assert unrelated.exists()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".cmj-2026-11-27")) == [
        "cmj-2026-11-26.csv",
        "jko-2026-11-26.csv",
        "pi-2026-11-26.csv",
    ]
