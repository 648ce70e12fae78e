"""``platebind tariff parse|fee|report`` in-process, on a Typer app of their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from platebind.tariffs import cli as tariffs_cli
from tests.tariffs.helpers import taipei_feed

TEXT = "小型車：計時 40元/時(07-23)，20元/時(23-07)，停車未滿1小時以1小時計，逾1小時以上，未滿半小時以半小時計，進場未滿30分鐘離場不收費。機車：計時 元/時"  # noqa: E501


def run(*args: str) -> Result:
    app = typer.Typer()
    tariffs_cli.register(app)
    return CliRunner().invoke(app, list(args))


def run_json(*args: str, exit_code: int = 0) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_parse_prints_each_vehicle_types_reading() -> None:
    doc = run_json("tariff", "parse", TEXT)
    assert {name: c["status"] for name, c in doc["classes"].items()} == {
        "car": "full",
        "motorcycle": "unread",
        "heavy_motorcycle": "absent",
    }
    assert doc["classes"]["motorcycle"]["unread"] == ["計時 元/時"]
    assert doc["classes"]["car"]["tariff"]["grace"] == {"minutes": 30, "inclusive": False}
    text = run("tariff", "parse", TEXT)
    assert text.exit_code == 0
    assert "car: full\n  mon–sun, holiday: 00:00–07:00 20/h" in text.stdout
    assert "could not read: 計時 元/時" in text.stdout


def test_fee_prints_the_amount_and_its_breakdown() -> None:
    # Fri 22:40: first hour at the day price (40) cut at 23:00; 23:00–01:10 at 20/h: 5u × 10.
    args = ("tariff", "fee", TEXT, "--type", "car", "--entered", "2026-11-27T22:40")
    doc = run_json(*args, "--exited", "2026-11-28T01:10")
    assert doc["amount"] == 90
    assert [line["amount"] for line in doc["breakdown"]] == ["40", "20", "30"]
    text = run(*args, "--exited", "2026-11-28T01:10+08:00")
    assert text.stdout.startswith("90 TWD for a car from 2026/11/27 22:40 to 2026/11/28 01:10")


def test_a_fee_under_a_text_not_read_in_full_is_refused_naming_the_phrase() -> None:
    args = ("tariff", "fee", TEXT, "--type", "motorcycle")
    times = ("--entered", "2026-11-27T10:00", "--exited", "2026-11-27T11:00")
    doc = run_json(*args, *times, exit_code=1)
    assert doc["code"] == "tariff_unreadable"
    assert doc["unread"] == ["計時 元/時"]
    text = run(*args, *times)
    assert text.exit_code == 1
    assert "could not read '計時 元/時'" in text.stderr
    absent = run_json("tariff", "fee", TEXT, "--type", "heavy_motorcycle", *times, exit_code=1)
    assert absent["code"] == "tariff_no_fare"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--type", "bus"), "'bus' is not one of"),
        (("--type", "car", "--entered", "yesterday"), "Invalid value for '--entered'"),
    ],
)
def test_malformed_options_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    times = ("--entered", "2026-11-27T10:00", "--exited", "2026-11-27T11:00")
    result = run("tariff", "fee", TEXT, *times, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_exit_before_the_entry_is_refused() -> None:
    args = ("tariff", "fee", TEXT, "--type", "car", "--entered", "2026-11-27T11:00")
    doc = run_json(*args, "--exited", "2026-11-27T10:00", exit_code=1)
    assert doc["code"] == "stay_invalid"


def test_report_counts_the_whole_feed() -> None:
    doc = run_json("tariff", "report", str(taipei_feed()), "--top", "3")
    assert doc["lots"] == 1680
    assert doc["classes"]["car"]["full_share"] >= 0.85
    assert len(doc["top_unread"]) == 3
    text = run("tariff", "report", str(taipei_feed()))
    assert text.exit_code == 0
    assert text.stdout.startswith("1680 lots\nclass")
    assert "most common unread phrases:" in text.stdout


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"{not json", "is not a readable JSON file"),
        (b'{"data": {"UPDATETIME": "x"}}', "has no data.park list"),
        (b'{"data": {"park": [{"name": "no id"}]}}', "lot 1 has no id"),
    ],
)
def test_report_refuses_a_file_that_is_not_the_feed(
    tmp_path: Path, content: bytes, detail: str
) -> None:
    path = tmp_path / "lots.json"
    path.write_bytes(content)
    doc = run_json("tariff", "report", str(path), exit_code=1)
    assert doc["code"] == "tariff_file_invalid"
    assert detail in doc["detail"]
