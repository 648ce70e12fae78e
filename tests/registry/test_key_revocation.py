"""Revoking keys from the command line: agents (with an overlapping rotation), lots' gate
controllers and wardens' handhelds, one key or all, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from platebind.registry import agents
from tests.cli_helpers import Cli, build_cli_world
from tests.conftest import Db
from tests.parking.gate_world import add_lot


@pytest.fixture
def cli(db: Db) -> Cli:
    return Cli(db.url)


def live(db: Db, key: str) -> bool:
    with db.tx() as s:
        return agents.authenticate(s, key) is not None


def key_id(key: str) -> str:
    return key.split("_")[1]


def test_an_agent_rotates_without_downtime_then_the_old_key_is_revoked(db: Db, cli: Cli) -> None:
    old = build_cli_world(cli)["cmj"]
    new = cli.json("agent", "key-add", "cmj")["api_key"]
    assert live(db, old)
    assert live(db, new)  # both work while the agent deploys the new one

    revoked = cli.json("agent", "key-revoke", "cmj", "--key-id", key_id(old))
    assert revoked["revoked"] == 1
    assert not live(db, old)
    assert live(db, new)
    assert cli.refusal("agent", "key-revoke", "cmj", "--key-id", key_id(old))["code"] == (
        "key_not_found"
    )


def test_one_lot_controllers_key_or_all_of_them_are_revoked(db: Db, cli: Cli) -> None:
    build_cli_world(cli)
    with db.tx() as s:
        add_lot(s, db.clock.now(), "TPE9001")
    first, second = (cli.json("lot", "key", "TPE9001")["api_key"] for _ in range(2))

    assert cli.json("lot", "key-revoke", "TPE9001", "--key-id", key_id(first))["revoked"] == 1
    assert (live(db, first), live(db, second)) == (False, True)
    third = cli.json("lot", "key", "TPE9001")["api_key"]
    assert cli.json("lot", "key-revoke", "TPE9001")["revoked"] == 2
    assert not any(live(db, key) for key in (first, second, third))
    assert cli.refusal("lot", "key-revoke", "TPE9001")["code"] == "key_not_found"


def test_a_wardens_key_is_revoked_and_another_wardens_is_not(db: Db, cli: Cli) -> None:
    mine = cli.json("roadside", "key", "w-0017")["api_key"]
    theirs = cli.json("roadside", "key", "w-0018")["api_key"]
    # A key id of another warden's key revokes nothing of this one's.
    assert (
        cli.refusal("roadside", "key-revoke", "w-0017", "--key-id", key_id(theirs))["code"]
        == "key_not_found"
    )
    text = cli.run("roadside", "key-revoke", "w-0017")
    assert text.exit_code == 0, text.output
    assert "revoked 1 key(s) of warden w-0017" in text.stdout
    assert (live(db, mine), live(db, theirs)) == (False, True)
