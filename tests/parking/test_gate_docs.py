"""The morning at TPE9001 of docs/gates.md happens as the page says (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import Db
from tests.parking.gate_world import bind, build_gate_world, event, post, tpe

PAGE = Path(__file__).resolve().parents[2] / "docs" / "gates.md"
_BLOCK = re.compile(r"<!-- gate-story -->\n(.*?)<!-- /gate-story -->", re.S)


def story() -> list[list[str]]:
    block = _BLOCK.search(PAGE.read_text(encoding="utf-8"))
    assert block is not None, "docs/gates.md has no gate-story block"
    lines = block[1].strip().splitlines()[2:]  # the header and its rule
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]


def test_the_morning_of_the_docs(db: Db) -> None:
    build_gate_world(db)
    bind(db, "cmj", "ABC-1234")
    rows = story()
    assert len(rows) >= 10
    for n, (at, gate, plate, confidence, action, amount, agent, flags, _why) in enumerate(rows):
        when = tpe(f"2026-11-27 {at}")
        answer = post(db, event(f"doc-{n}", gate, plate, when, confidence=float(confidence)))
        expected = {
            "action": action,
            "amount": int(amount) if amount else None,
            "agent": agent or None,
            "flags": [f.strip() for f in flags.split(",")] if flags else [],
        }
        assert {k: answer[k] for k in expected} == expected, (at, gate, plate)
