"""A stolen database dump does not give away national IDs or any credential.

National IDs are stored only as an HMAC (vehicle registry, portal accounts), passwords as
argon2id hashes, API keys, session tokens and transfer codes as SHA-256 digests. The check reads
what an attacker would: ``pg_dump``'s output on PostgreSQL, the database file's bytes and its
SQL dump on SQLite.
"""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import timedelta

from sqlalchemy.engine import make_url

from platebind.portal import sessions
from tests.portal.conftest import ALICE_CAR, ALICE_EMAIL, BOB_EMAIL, PASSWORD, PortalWorld
from tests.portal.conftest import portal as portal  # noqa: F401 (the fixture)
from tests.vehicles.extracts import ALICE, BOB


def _dump(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        plain = parsed.set(drivername="postgresql").render_as_string(False)
        return subprocess.run(
            ["pg_dump", "--no-owner", plain], check=True, capture_output=True, text=True
        ).stdout
    path = parsed.database
    assert path is not None
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        text = "\n".join(conn.iterdump())
    with open(path, "rb") as raw:
        return text + raw.read().decode("latin-1")


def test_a_dump_holds_no_national_id_password_key_token_or_code(portal: PortalWorld) -> None:
    alice = portal.member(ALICE_EMAIL, ALICE)
    bob = portal.member(BOB_EMAIL, BOB)
    portal.bind("cmj", ALICE_CAR)
    portal.advance(timedelta(days=1))
    assert alice.add_plate(ALICE_CAR).status_code == 303
    issued = alice.post(f"/portal/plates/car/{ALICE_CAR}/transfer-codes", {"scope": "tpe-lots"})
    assert issued.status_code == 200
    code = issued.text.split('id="transfer-code" class="code">')[1].split("<")[0]
    secrets = {
        "Alice's national ID": ALICE,
        "Bob's national ID": BOB,
        "password": PASSWORD,
        "transfer code": code,
        "Alice's session": alice.http.cookies[sessions.COOKIE_NAME],
        "Bob's session": bob.http.cookies[sessions.COOKIE_NAME],
        **{f"{agent}'s API key": key for agent, key in portal.agent_keys.items()},
    }

    dump = _dump(portal.db.url).lower()

    assert ALICE_EMAIL in dump  # the dump is real and complete enough to hold the members
    for name, secret in secrets.items():
        assert secret.lower() not in dump, f"{name} is readable in the dump"
    # Without the dashes too (a code or ID typed differently must not match either).
    assert code.replace("-", "").lower() not in dump.replace("-", "")
