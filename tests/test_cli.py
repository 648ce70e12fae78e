"""The ``platebind`` command line, run in-process against real SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import platebind.api.server
from platebind.cli import app
from tests.cli_helpers import PLATE, SCOPE, Cli, build_cli_world
from tests.conftest import Db


@pytest.fixture
def cli(db: Db, tmp_path: Path) -> Cli:
    """SQLite: a fresh file that ``db upgrade`` builds; PostgreSQL: the migrated test database
    (``db upgrade`` then has nothing to do)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}" if db.dialect == "sqlite" else db.url
    upgraded = Cli(url).json("db", "upgrade")
    assert upgraded["changed"] is (db.dialect == "sqlite")
    return Cli(url)


@pytest.fixture
def world(cli: Cli) -> dict[str, str]:
    return build_cli_world(cli)


@pytest.fixture
def unmigrated(tmp_path: Path) -> Cli:
    return Cli(f"sqlite:///{tmp_path / 'fresh.db'}")


# ---------------------------------------------------------------------------------------------
# The scripted flow: bind, look up, refuse, transfer, unbind, run the cycle


def test_scripted_flow_from_bind_to_cycle(cli: Cli, world: dict[str, str]) -> None:
    assert all(key.startswith("pbk_") for key in world.values())
    _bind_before_midnight_takes_effect_at_the_next_cutover(cli)
    _competitor_is_refused_then_takes_over_with_a_transfer_code(cli)
    _history_shows_both_bindings_and_the_audit_trail(cli)
    _unbind_gives_the_end_and_the_cycle_counts_what_took_effect(cli)


def _bind_before_midnight_takes_effect_at_the_next_cutover(cli: Cli) -> None:
    bound = cli.bind("cmj", "abc 1234", at="2026-11-26T23:59+08:00")
    assert bound["plate"] == PLATE
    assert bound["agent"] == "cmj"
    assert bound["created"] is True
    assert bound["status"] == "scheduled"
    assert bound["effective_at"] == bound["valid_from"] == "2026-11-27T04:00:00+08:00"
    assert bound["valid_to"] is None
    again = cli.bind("cmj", at="2026-11-27T00:10")
    assert (again["created"], again["id"]) == (False, bound["id"])

    before = cli.lookup(at="2026-11-27T03:59")
    assert before["holder"] is None
    assert [(b["agent"], b["status"]) for b in before["upcoming"]] == [("cmj", "scheduled")]
    after = cli.lookup("ABC1234", at="2026-11-27T04:00")
    assert (after["holder"]["agent"], after["holder"]["status"]) == ("cmj", "active")
    assert (after["plate"], after["upcoming"]) == (PLATE, [])

    ran = cli.json("cycle", "run", at="2026-11-27T05:00")
    (first,) = ran["scopes"]
    assert ran["daily"]["billing"] == {"declined_unsettled": 0, "bills_issued": 0}
    assert set(ran["daily"]) == {"billing", "roadside"}
    assert first == {
        "scope": SCOPE,
        "window_start": None,
        "ran_at": "2026-11-27T05:00:00+08:00",
        "activated": 1,
        "ended": 0,
    }


def _competitor_is_refused_then_takes_over_with_a_transfer_code(cli: Cli) -> None:
    bind_pi = ("bind", "--agent", "pi", "--scope", SCOPE, "--type", "car", "--plate", PLATE)
    refused = cli.refusal(*bind_pi, at="2026-11-27T10:00")
    assert refused["code"] == "plate_bound_elsewhere"
    assert refused["transfer_possible"] is True

    code = cli.json(
        "transfer-code", "--scope", SCOPE, "--type", "car", "--plate", "abc-1234",
        at="2026-11-27T10:05",
    )  # fmt: skip
    assert (code["scope"], code["vehicle_type"], code["plate"]) == (SCOPE, "car", PLATE)
    assert code["expires_at"] == "2026-12-04T10:05:00+08:00"

    moved = cli.bind("pi", PLATE, "--transfer-code", code["code"], at="2026-11-27T10:10")
    assert (moved["agent"], moved["created"], moved["status"]) == ("pi", True, "scheduled")
    assert moved["effective_at"] == moved["valid_from"] == "2026-11-28T04:00:00+08:00"
    again = cli.bind("pi", PLATE, "--transfer-code", code["code"], at="2026-11-27T10:11")
    assert (again["created"], again["id"]) == (False, moved["id"])


def _history_shows_both_bindings_and_the_audit_trail(cli: Cli) -> None:
    history = cli.json("history", "--type", "car", "--plate", "abc1234", at="2026-11-28T12:00")
    assert (history["vehicle_type"], history["plate"]) == ("car", PLATE)
    assert [
        (b["agent"], b["status"], b["valid_to"], b["end_reason"]) for b in history["bindings"]
    ] == [
        ("cmj", "ended", "2026-11-28T04:00:00+08:00", "transferred"),
        ("pi", "active", None, None),
    ]
    assert [e["action"] for e in history["events"]] == [
        "binding.bind",
        "transfer_code.issue",
        "binding.bind",
    ]
    assert {e["actor"].split(":")[0] for e in history["events"]} == {"admin"}


def _unbind_gives_the_end_and_the_cycle_counts_what_took_effect(cli: Cli) -> None:
    unbound = cli.json(
        "unbind", "--agent", "pi", "--scope", SCOPE, "--type", "car", "--plate", PLATE,
        at="2026-11-28T12:00",
    )  # fmt: skip
    assert (unbound["agent"], unbound["status"], unbound["end_reason"]) == (
        "pi",
        "ending",
        "unbound",
    )
    assert unbound["effective_at"] == unbound["valid_to"] == "2026-11-29T04:00:00+08:00"

    (second,) = cli.json("cycle", "run", "--scope", SCOPE, at="2026-11-29T05:00")["scopes"]
    assert second["window_start"] == "2026-11-27T05:00:00+08:00"
    assert (second["activated"], second["ended"]) == (1, 2)
    (rerun,) = cli.json("cycle", "run", at="2026-11-29T05:00")["scopes"]
    assert (rerun["activated"], rerun["ended"]) == (0, 0)

    feed = cli.json("changes", "--scope", SCOPE)
    assert [(c["seq"], c["change"], c["agent"]) for c in feed] == [
        (1, "bind", "cmj"),
        (2, "end", "cmj"),
        (3, "bind", "pi"),
        (4, "end", "pi"),
    ]
    assert [
        c["seq"] for c in cli.json("changes", "--scope", SCOPE, "--after", "2", "--limit", "1")
    ] == [3]


# ---------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize("plate", ["ABC-0000", "ABCD-12", "車-1234"])
def test_unreadable_plate_is_refused_as_invalid_plate(
    cli: Cli, world: dict[str, str], plate: str
) -> None:
    refused = cli.refusal(
        "bind", "--agent", "cmj", "--scope", SCOPE, "--type", "car", "--plate", plate
    )
    assert refused["code"] == "invalid_plate"
    assert "accepted formats" in refused["detail"]
    human = cli.run("bind", "--agent", "cmj", "--scope", SCOPE, "--type", "car", "--plate", plate)
    assert human.exit_code == 1
    assert human.stdout == ""
    assert human.stderr.startswith("error: ")
    assert "not a valid car plate" in human.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["lookup", "--type", "car", "--plate", PLATE],
        ["bind", "--agent", "cmj", "--type", "car", "--plate", PLATE],
        ["transfer-code", "--type", "car", "--plate", PLATE],
        ["changes"],
        ["cycle", "run"],
    ],
)
def test_unknown_scope_is_refused(cli: Cli, world: dict[str, str], command: list[str]) -> None:
    refused = cli.refusal(*command, "--scope", "nowhere")
    assert refused["code"] == "scope_not_found"
    assert "nowhere" in refused["detail"]


def test_refusal_keeps_its_aftermath_so_wrong_transfer_codes_get_rate_limited(
    cli: Cli, world: dict[str, str]
) -> None:
    cli.bind("cmj", at="2026-11-26T10:00")
    guess = ("bind", "--agent", "pi", "--scope", SCOPE, "--type", "car", "--plate", PLATE)
    for _ in range(10):
        wrong = cli.refusal(*guess, "--transfer-code", "0000-0000-0000", at="2026-11-26T11:00")
        assert wrong["code"] == "transfer_code_invalid"
    limited = cli.refusal(*guess, "--transfer-code", "0000-0000-0000", at="2026-11-26T11:00")
    assert limited["code"] == "transfer_code_rate_limited"
    assert limited["retry_after"] == 3600


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["lookup", "--scope", SCOPE, "--type", "car", "--plate", PLATE, "--at", "noon"], "--at"),
        (["lookup", "--scope", SCOPE, "--type", "bus", "--plate", PLATE], "--type"),
        (
            ["scope", "add", "x1", "--name", "X", "--kind", "lots", "--cutover", "25:00"],
            "--cutover",
        ),
        (["scope", "add", "x1", "--name", "X", "--kind", "mall"], "--kind"),
        (["calendar", "close", "2026-13-01", "--reason", "typhoon"], "YYYY-MM-DD"),
        (["changes", "--scope", SCOPE, "--limit", "0"], "--limit"),
    ],
)
def test_malformed_options_are_usage_errors(
    unmigrated: Cli, command: list[str], option: str
) -> None:
    result = unmigrated.run(*command, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert option in result.stderr


def test_unmigrated_database_tells_the_user_to_upgrade(unmigrated: Cli) -> None:
    refused = unmigrated.refusal("scope", "list")
    assert refused["code"] == "database_not_migrated"
    human = unmigrated.run("lookup", "--scope", SCOPE, "--type", "car", "--plate", PLATE)
    assert human.exit_code == 1
    assert "run `platebind db upgrade`" in human.stderr


def test_unreachable_database_is_a_clear_refusal(tmp_path: Path) -> None:
    refused = Cli(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}").refusal("agent", "list")
    assert refused["code"] == "database_unavailable"


# ---------------------------------------------------------------------------------------------
# Administration


def test_db_upgrade_on_a_fresh_file_is_idempotent(unmigrated: Cli) -> None:
    first = unmigrated.json("db", "upgrade")
    assert (first["from"], first["changed"]) == (None, True)
    assert first["to"]
    second = unmigrated.json("db", "upgrade")
    assert (second["from"], second["to"], second["changed"]) == (first["to"], first["to"], False)
    again = unmigrated.run("db", "upgrade")
    assert again.exit_code == 0
    assert "nothing to do" in again.stdout
    assert unmigrated.json("scope", "list") == []


def test_database_url_comes_from_the_environment_by_default(tmp_path: Path) -> None:
    path = tmp_path / "from-env.db"
    env = {"PLATEBIND_DATABASE_URL": f"sqlite:///{path}"}
    result = CliRunner().invoke(app, ["db", "upgrade", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["database"] == f"sqlite:///{path}"
    assert path.exists()


def test_scopes_and_closed_days(cli: Cli) -> None:
    added = cli.json(
        "scope", "add", "tpe-roadside", "--name", "臺北市路邊停車", "--kind", "roadside",
        "--cutover", "2:30", "--lead-hours", "12", "--business-days-only",
    )  # fmt: skip
    assert (added["cutover"], added["lead_hours"], added["business_days_only"]) == (
        "02:30",
        12,
        True,
    )
    cli.json("scope", "add", "instant", "--name", "Immediate", "--kind", "partner", "--immediate")
    listed = cli.json("scope", "list")
    assert [(s["id"], s["immediate"]) for s in listed] == [
        ("instant", True),
        ("tpe-roadside", False),
    ]
    duplicate = cli.refusal("scope", "add", "instant", "--name", "Again", "--kind", "partner")
    assert duplicate["code"] == "already_exists"
    closed = cli.json("calendar", "close", "2026-11-27", "--reason", "颱風停班")
    assert closed == {"day": "2026-11-27", "reason": "颱風停班"}


def test_agent_keys_status_and_offboarding(cli: Cli, world: dict[str, str]) -> None:
    shown = cli.run("agent", "add", "jko", "--name", "街口支付", "--scopes", SCOPE,
                    "--support-phone", "02-1234-5678")  # fmt: skip
    assert shown.exit_code == 0
    assert "shown only once" in shown.stdout
    assert "pbk_" in shown.stdout
    rotated = cli.json("agent", "key-rotate", "cmj")
    assert rotated["agent"] == "cmj"
    assert rotated["api_key"] not in (world["cmj"], "")

    assert cli.json("agent", "suspend", "cmj")["status"] == "suspended"
    assert cli.refusal("bind", "--agent", "cmj", "--scope", SCOPE, "--type", "car",
                       "--plate", PLATE)["code"] == "agent_suspended"  # fmt: skip
    assert cli.json("agent", "reactivate", "cmj")["status"] == "active"
    cli.bind("cmj", at="2026-11-26T10:00")

    ended = cli.json("agent", "offboard", "cmj", at="2026-11-27T10:00")
    assert [(b["plate"], b["end_reason"], b["effective_at"]) for b in ended] == [
        (PLATE, "offboarded", "2026-11-28T04:00:00+08:00")
    ]
    statuses = {a["id"]: a["status"] for a in cli.json("agent", "list")}
    assert statuses == {"cmj": "offboarded", "jko": "active", "pi": "active"}
    assert cli.refusal("agent", "suspend", "ghost")["code"] == "agent_not_found"


# ---------------------------------------------------------------------------------------------
# Output for people


def test_lookup_for_people_names_the_holder_and_taipei_times(
    cli: Cli, world: dict[str, str]
) -> None:
    cli.bind("cmj", at="2026-11-26T23:59+08:00")
    result = cli.run("lookup", "--scope", SCOPE, "--type", "car", "--plate", "abc1234",
                     at="2026-11-27T12:00")  # fmt: skip
    assert result.exit_code == 0
    assert "cmj" in result.stdout
    assert "2026/11/27 04:00" in result.stdout
    assert "{" not in result.stdout


AT = ["--at", "2026-11-27T10:00"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["scope", "list"], "臺北市公有停車場"),
        (["agent", "list"], "車麻吉"),
        (["history", "--type", "car", "--plate", PLATE, *AT], "binding.bind"),
        (["changes", "--scope", SCOPE], "ABC-1234"),
        (["cycle", "run", *AT], "(first run)"),
        (["transfer-code", "--scope", SCOPE, "--type", "car", "--plate", PLATE, *AT],
         "valid until 2026/12/04 10:00"),
        (["unbind", "--agent", "cmj", "--scope", SCOPE, "--type", "car", "--plate", PLATE, *AT],
         "to 2026/11/28 04:00"),
        (["agent", "offboard", "cmj", *AT], "1 binding(s) end"),
        (["bind", "--agent", "pi", "--scope", SCOPE, "--type", "heavy_motorcycle",
          "--plate", "abc123", *AT], "bound ABC-123 (motorcycle) in tpe-lots: pi, scheduled"),
        (["agent", "key-rotate", "pi"], "shown only once"),
        (["agent", "suspend", "pi"], "agent pi is suspended"),
        (["scope", "add", "instant", "--name", "Now", "--kind", "partner", "--immediate"],
         "immediate"),
        (["calendar", "close", "2026-11-27", "--reason", "颱風停班"], "2026-11-27 is closed"),
    ],
)  # fmt: skip
def test_every_command_has_a_short_form_for_people(
    cli: Cli, world: dict[str, str], command: list[str], expected: str
) -> None:
    cli.bind("cmj", at="2026-11-26T10:00")
    result = cli.run(*command)
    assert result.exit_code == 0, result.stderr
    assert expected in result.stdout


# ---------------------------------------------------------------------------------------------
# serve and demo hand over to the server; only the hand-over is checked here


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(platebind.api.server, "run_server", lambda **kw: calls.append(kw))
    return calls


def test_serve_hands_options_to_the_server(served: list[dict[str, Any]]) -> None:
    result = Cli("sqlite:///./x.db").run("serve", "--host", "0.0.0.0", "--port", "9000",
                                         "--workers", "3", "--no-worker")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert served == [
        {
            "database_url": "sqlite:///./x.db",
            "host": "0.0.0.0",
            "port": 9000,
            "workers": 3,
            "webhook_worker": False,
        }
    ]


class _DemoWorld:
    def as_dict(self) -> dict[str, Any]:
        return {"scopes": ["tpe-lots"], "agents": 3}


@pytest.fixture
def demo_builds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, datetime]]:
    built: list[tuple[str, datetime]] = []
    # The demo sets these for its server; setenv first so that they are removed afterwards.
    for name in ("PLATEBIND_ID_HASH_KEY", "PLATEBIND_PORTAL_SECURE_COOKIES"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)

    def build_demo_world(
        database_url: str,
        *,
        now: datetime,
        id_hash_key: str,
        traffic: bool,
        on_traffic: Callable[[int], object],
    ) -> _DemoWorld:
        assert len(id_hash_key) >= 32
        assert traffic
        built.append((database_url, now))
        return _DemoWorld()

    module = types.ModuleType("platebind.demo")
    module.build_demo_world = build_demo_world  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "platebind.demo", module)
    return built


def test_demo_builds_its_own_database_and_serves_it(
    demo_builds: list[tuple[str, datetime]], served: list[dict[str, Any]]
) -> None:
    # A DATABASE_URL meant for the real registry must not receive demo data.
    env = {"DATABASE_URL": "postgresql://registry.example/platebind"}
    argv = ["demo", "--port", "8100", "--at", "2026-11-26T10:00"]
    result = CliRunner().invoke(app, argv, env=env)
    assert result.exit_code == 0, result.stderr
    assert demo_builds == [("sqlite:///./platebind-demo.db", datetime(2026, 11, 26, 2, tzinfo=UTC))]
    assert "agents: 3" in result.stdout
    # The demo serves plain HTTP with an ID hash key of its own.
    assert os.environ["PLATEBIND_PORTAL_SECURE_COOKIES"] == "false"
    assert len(os.environ["PLATEBIND_ID_HASH_KEY"]) >= 32
    assert served == [{"database_url": "sqlite:///./platebind-demo.db", "host": "127.0.0.1",
                       "port": 8100, "workers": 1}]  # fmt: skip


def test_demo_json_without_serving_prints_only_the_summary(
    demo_builds: list[tuple[str, datetime]], served: list[dict[str, Any]]
) -> None:
    result = Cli("sqlite:///./elsewhere.db").run("demo", "--no-serve", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"scopes": ["tpe-lots"], "agents": 3}
    assert [url for url, _ in demo_builds] == ["sqlite:///./elsewhere.db"]
    assert served == []
