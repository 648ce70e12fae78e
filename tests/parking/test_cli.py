"""``platebind lot import-taipei|list|show`` in-process, against real SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from platebind.parking import cli as parking_cli
from tests.conftest import Db


def run(db: Db, *args: str) -> Result:
    app = typer.Typer()
    parking_cli.register(app)
    return CliRunner().invoke(app, [*args, "--database-url", db.url])


def run_json(db: Db, *args: str, exit_code: int = 0) -> Any:
    result = run(db, *args, "--json")
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def write_feed(tmp_path: Path, lots: list[dict[str, Any]]) -> str:
    path = tmp_path / "lots.json"
    path.write_text(json.dumps({"data": {"park": lots}}, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_import_then_list_and_show(
    scoped_db: Db, tmp_path: Path, feed_lots: list[dict[str, Any]]
) -> None:
    # The first 60 lots of the real feed (the whole feed is imported in test_service.py).
    path = write_feed(tmp_path, feed_lots[:60])
    doc = run_json(scoped_db, "lot", "import-taipei", path, "--at", "2026-11-26T10:00")
    assert (doc["lots"], doc["inserted"]) == (60, 60)
    assert set(doc["tariffs"]) == {"car", "motorcycle", "heavy_motorcycle"}
    for counts in doc["tariffs"].values():
        assert set(counts) == {"full", "partial", "unread", "absent"}
        assert sum(counts.values()) == 60
    again = run(scoped_db, "lot", "import-taipei", path, "--at", "2026-11-27T10:00")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("imported 60 lots: 0 new, 60 updated;")
    assert "car               " in again.stdout  # the table of tariff readings
    listed = run_json(scoped_db, "lot", "list")
    assert [lot["id"] for lot in listed] == sorted(lot["id"] for lot in feed_lots[:60])
    assert listed[0]["id"] == "139"
    assert listed[0]["tariffs"] == {
        "car": "absent",
        "motorcycle": "full",
        "heavy_motorcycle": "absent",
    }
    shown = run_json(scoped_db, "lot", "show", "TPE0003")
    assert shown["entrances"] == [
        {"latitude": 25.05847133, "longitude": 121.5594459, "address": "民生東路五段"}
    ]
    assert shown["tariffs"]["car"]["status"] == "full"
    assert shown["imported_at"] == "2026-11-27T10:00:00+08:00"  # the re-import's time
    text = run(scoped_db, "lot", "show", "TPE0003")
    assert "car: full\n  mon–sun, holiday: 00:00–24:00 30/h" in text.stdout
    assert "entrance: 25.058471, 121.559446 民生東路五段" in text.stdout
    listing = run(scoped_db, "lot", "list")
    assert listing.stdout.rstrip().endswith("60 lots")


def test_a_bad_file_is_refused_with_its_problems_listed(scoped_db: Db, tmp_path: Path) -> None:
    path = write_feed(tmp_path, [{"id": "TPE9001", "name": "", "payex": "計時：30元/時"}])
    doc = run_json(scoped_db, "lot", "import-taipei", path, exit_code=1)
    assert doc["code"] == "lot_file_invalid"
    assert doc["errors"] == ["lot 1 (TPE9001), name: missing"]
    text = run(scoped_db, "lot", "import-taipei", path)
    assert text.exit_code == 1
    assert "error: the file has 1 error; nothing was imported" in text.stderr
    assert "  lot 1 (TPE9001), name: missing" in text.stderr
    assert run_json(scoped_db, "lot", "list") == []


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ("[]", "has no data.park list"),
        ("{broken", "is not a readable JSON file"),
    ],
)
def test_a_file_that_is_not_the_feed_is_refused(
    scoped_db: Db, tmp_path: Path, content: str, detail: str
) -> None:
    path = tmp_path / "lots.json"
    path.write_text(content, encoding="utf-8")
    doc = run_json(scoped_db, "lot", "import-taipei", str(path), exit_code=1)
    assert doc["code"] == "lot_file_invalid"
    assert detail in doc["detail"]


def test_unknown_lots_and_scopes_are_refused(scoped_db: Db, tmp_path: Path) -> None:
    assert run_json(scoped_db, "lot", "show", "TPE9999", exit_code=1)["code"] == "lot_not_found"
    path = write_feed(tmp_path, [{"id": "TPE9001", "name": "x", "payex": ""}])
    doc = run_json(scoped_db, "lot", "import-taipei", path, "--scope", "nowhere", exit_code=1)
    assert doc["code"] == "scope_not_found"
