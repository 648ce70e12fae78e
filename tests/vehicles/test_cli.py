"""``platebind vehicles import`` in-process, against real SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import Cli, build_cli_world
from tests.conftest import Db
from tests.vehicles.extracts import ALICE, BOB, HEADER, KEY

KEY_VARIABLE = "PLATEBIND_ID_HASH_KEY"


@pytest.fixture
def cli(db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    url = f"sqlite:///{tmp_path / 'cli.db'}" if db.dialect == "sqlite" else db.url
    Cli(url).json("db", "upgrade")
    return Cli(url)


def write(tmp_path: Path, *rows: str, name: str = "extract.csv", bom: bool = True) -> str:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + "\n".join([HEADER, *rows]).encode())
    return str(path)


def test_import_prints_the_counts(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, f"car,ABC-1234,{ALICE}", f"motorcycle,XYZ-123,{BOB}")
    doc = cli.json("vehicles", "import", path)
    assert doc == {
        "rows": 2,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "owner_changed": 0,
        "bindings_ended": 0,
        "absent": 0,
    }
    text = cli.run("vehicles", "import", path)
    assert text.exit_code == 0, text.output
    assert "imported 2 vehicles: 0 new, 0 updated, 2 unchanged" in text.stdout


def test_owner_change_unbinds_through_the_cli(cli: Cli, tmp_path: Path) -> None:
    build_cli_world(cli)
    cli.json("vehicles", "import", write(tmp_path, f"car,ABC-1234,{ALICE}"))
    cli.bind("cmj", at="2026-11-26T12:00")
    sold = write(tmp_path, f"car,ABC-1234,{BOB}", name="sold.csv")
    doc = cli.json("vehicles", "import", sold, at="2026-11-27T12:00")
    assert (doc["owner_changed"], doc["bindings_ended"]) == (1, 1)
    holder = cli.lookup(at="2026-11-27T12:00")["holder"]
    assert holder["valid_to"] == "2026-11-28T04:00:00+08:00"


def test_bad_rows_are_listed_by_line_and_nothing_is_imported(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, f"car,ABC-1234,{ALICE}", "car,ABC-12,A123456780", f"van,XYZ-1234,{BOB}")
    doc = cli.refusal("vehicles", "import", path)
    assert doc["code"] == "import_invalid"
    assert [(e["line"], e["field"]) for e in doc["errors"]] == [
        (3, "plate"),
        (3, "owner_id"),
        (4, "vehicle_type"),
    ]
    text = cli.run("vehicles", "import", path)
    assert text.exit_code == 1
    assert "error: the extract has 3 errors; nothing was imported" in text.stderr
    assert "line 3, owner_id: check digit does not match" in text.stderr
    assert "A123456780" not in text.stderr
    good = write(tmp_path, f"car,ABC-1234,{ALICE}", name="good.csv")
    assert cli.json("vehicles", "import", good)["inserted"] == 1  # the refusal wrote nothing


@pytest.mark.parametrize("value", [None, "short", "changeme-changeme-changeme-changeme"])
def test_import_refuses_to_run_without_a_safe_key(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(KEY_VARIABLE)
    else:
        monkeypatch.setenv(KEY_VARIABLE, value)
    doc = cli.refusal("vehicles", "import", write(tmp_path, f"car,ABC-1234,{ALICE}"))
    assert doc["code"] == "id_hash_key_invalid"
    assert KEY_VARIABLE in doc["detail"]
    text = cli.run("vehicles", "import", write(tmp_path, f"car,ABC-1234,{ALICE}"))
    assert text.exit_code == 1
    assert text.stderr.startswith(f"error: {KEY_VARIABLE}")


def test_missing_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("vehicles", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2


def test_json_output_is_only_the_document(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("vehicles", "import", write(tmp_path, f"car,ABC-1234,{ALICE}"), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["inserted"] == 1
    assert result.stderr == ""


def test_another_key_than_the_first_is_refused_and_nothing_changes(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A changed key would make every plate look re-owned and end every binding."""
    first = cli.json("vehicles", "import", write(tmp_path, f"car,ABC-1234,{ALICE}"))
    assert first["inserted"] == 1
    monkeypatch.setenv(KEY_VARIABLE, "a-different-but-perfectly-random-key-4f9c2e")
    moved = write(tmp_path, f"car,ABC-1234,{BOB}", f"car,BCD-2345,{BOB}", name="next.csv")
    doc = cli.refusal("vehicles", "import", moved)
    assert doc["code"] == "id_hash_key_changed"
    assert "original key" in doc["detail"]
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    again = cli.json("vehicles", "import", write(tmp_path, f"car,ABC-1234,{ALICE}"))
    assert (again["inserted"], again["unchanged"], again["owner_changed"]) == (0, 1, 0)
