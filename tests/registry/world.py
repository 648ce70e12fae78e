"""A small registry world for tests: three scopes, three agents."""

from __future__ import annotations

from dataclasses import dataclass

from platebind.registry import agents, scopes
from tests.conftest import ADMIN, Db


@dataclass(frozen=True)
class World:
    keys: dict[str, str]


def build_world(db: Db, *, business_days_only: bool = False) -> World:
    keys: dict[str, str] = {}
    with db.tx() as s:
        scopes.add_scope(
            s,
            db.clock,
            ADMIN,
            scope_id="tpe-lots",
            name="臺北市公有停車場",
            name_en="Taipei public parking lots",
            kind="lots",
            cutover="04:00",
            lead_hours=1,
            business_days_only=business_days_only,
        )
        scopes.add_scope(
            s,
            db.clock,
            ADMIN,
            scope_id="tpe-roadside",
            name="臺北市路邊停車",
            name_en="Taipei roadside parking",
            kind="roadside",
            cutover="04:00",
            lead_hours=1,
        )
        scopes.add_scope(
            s, db.clock, ADMIN, scope_id="instant", name="Immediate", kind="partner", immediate=True
        )
        for agent_id, name in (("cmj", "車麻吉"), ("pi", "Pi 拍錢包"), ("jko", "街口支付")):
            _, keys[agent_id] = agents.add_agent(
                s,
                db.clock,
                ADMIN,
                agent_id=agent_id,
                name=name,
                scopes=["tpe-lots", "tpe-roadside", "instant"],
            )
    return World(keys)
