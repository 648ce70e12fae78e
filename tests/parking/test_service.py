"""Importing the Taipei lot feed, on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from platebind.parking import service
from platebind.parking.errors import LotFileInvalid, LotNotFound
from platebind.parking.models import Lot, LotEntrance, LotTariff
from platebind.parking.schemas import ImportSummary
from platebind.plates import TariffClass
from platebind.registry.errors import ScopeNotFound
from platebind.registry.models import AuditEntry
from platebind.tariffs.payex import Status
from platebind.tariffs.report import coverage
from tests.conftest import ADMIN, Db
from tests.parking.conftest import SCOPE

CAR, MOTORCYCLE = TariffClass.CAR, TariffClass.MOTORCYCLE


def run_import(db: Db, lots: list[dict[str, Any]], scope: str = SCOPE) -> ImportSummary:
    with db.tx() as session:
        return service.import_taipei(session, db.clock, ADMIN, lots, scope)


def count(db: Db, model: type[Any]) -> int:
    with db.tx() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def by_id(lots: list[dict[str, Any]], lot_id: str) -> dict[str, Any]:
    return next(lot for lot in lots if lot["id"] == lot_id)


def test_the_real_feed_imports_as_1680_lots_and_a_re_import_updates_them(
    scoped_db: Db, lots: list[dict[str, Any]]
) -> None:
    first = run_import(scoped_db, lots)
    assert (first.lots, first.inserted, first.updated, first.not_in_file) == (1680, 1680, 0, 0)
    assert count(scoped_db, Lot) == 1680
    assert count(scoped_db, LotTariff) == 3 * 1680
    assert count(scoped_db, LotEntrance) == first.entrances
    # The counts add up, and agree with the tariff report over the same file.
    report = coverage(lots)
    for tariff_class in TariffClass:
        assert sum(first.tariffs[tariff_class].values()) == 1680
        assert first.tariffs[tariff_class] == +report.classes[tariff_class].counts
    by_id(lots, "TPE0003")["name"] = "民生立體停車場(改)"
    by_id(lots, "TPE0003")["payex"] = "小型車：計時 40元/時，全程以半小時計。"
    scoped_db.clock.advance(timedelta(days=1))
    again = run_import(scoped_db, lots)
    assert (again.lots, again.inserted, again.updated) == (1680, 0, 1680)
    assert (count(scoped_db, Lot), count(scoped_db, LotTariff)) == (1680, 3 * 1680)
    assert count(scoped_db, LotEntrance) == first.entrances  # replaced, not added
    with scoped_db.tx() as session:
        lot = service.get_lot(session, "TPE0003")
    assert lot.name == "民生立體停車場(改)"
    tariff = lot.tariffs[CAR].tariff
    assert tariff is not None
    assert tariff["hourly"]["rates"][0]["bands"][0]["per_hour"] == "40"
    assert lot.imported_at == scoped_db.clock.now()


def test_entrances_keep_latitude_and_longitude_the_right_way_round(
    scoped_db: Db, lots: list[dict[str, Any]]
) -> None:
    # TPE0003's entrance in the feed: Xcod 25.05847133, Ycod 121.5594459 (Minsheng E. Rd.).
    run_import(scoped_db, [by_id(lots, "TPE0003"), by_id(lots, "139")])
    with scoped_db.tx() as session:
        lot = service.get_lot(session, "TPE0003")
    assert len(lot.entrances) == 1
    entrance = lot.entrances[0]
    assert (entrance.latitude, entrance.longitude) == (25.05847133, 121.5594459)
    assert entrance.address == "民生東路五段"
    assert lot.capacities == {CAR: 457, MOTORCYCLE: 0, TariffClass.HEAVY_MOTORCYCLE: 0}
    assert lot.tariffs[CAR].status is Status.FULL


def test_an_entrance_at_zero_zero_is_unknown_and_minus_nine_spaces_are_unknown(
    scoped_db: Db, lots: list[dict[str, Any]]
) -> None:
    lot = by_id(lots, "TPE0003")
    lot["totalmotor"] = -9
    del lot["totallargemotor"]
    lot["EntranceCoord"]["EntrancecoordInfo"].append({"Xcod": "0", "Ycod": "0", "Address": ""})
    summary = run_import(scoped_db, [lot])
    assert (summary.entrances, summary.entrances_unknown) == (1, 1)
    with scoped_db.tx() as session:
        shown = service.get_lot(session, "TPE0003")
    assert shown.capacities == {CAR: 457, MOTORCYCLE: None, TariffClass.HEAVY_MOTORCYCLE: None}


def test_partial_readings_keep_the_unread_phrases(
    scoped_db: Db, lots: list[dict[str, Any]]
) -> None:
    run_import(scoped_db, [by_id(lots, "TPE1028")])  # 「小型車：計時 元/時，…」
    with scoped_db.tx() as session:
        car = service.get_lot(session, "TPE1028").tariffs[CAR]
    assert (car.status, car.tariff, car.unread) == (Status.PARTIAL, None, ["計時 元/時"])
    assert car.draft == {"prices": [], "billing": {"first_unit_minutes": 60, "unit_minutes": 30}}


def test_a_bad_file_is_refused_whole_and_nothing_is_written(
    scoped_db: Db, lots: list[dict[str, Any]]
) -> None:
    bad = lots[:50]
    bad[3]["totalcar"] = "many"
    bad[7]["name"] = " "
    bad[9]["EntranceCoord"] = {"EntrancecoordInfo": [{"Xcod": "north", "Ycod": "121.5"}]}
    bad[12]["id"] = bad[11]["id"]
    with pytest.raises(LotFileInvalid) as raised:
        run_import(scoped_db, bad)
    assert raised.value.detail == "the file has 4 errors; nothing was imported"
    assert raised.value.extra["errors"] == [
        f"lot 4 ({bad[3]['id']}), totalcar: 'many' is not a whole number",
        f"lot 8 ({bad[7]['id']}), name: missing",
        f"lot 10 ({bad[9]['id']}), EntranceCoord 1: could not convert string to float: 'north'",
        f"lot 13 ({bad[12]['id']}), id: repeats lot 12",
    ]
    assert count(scoped_db, Lot) == 0
    with pytest.raises(LotFileInvalid, match="lists no lots"):
        run_import(scoped_db, [])


def test_an_unknown_scope_is_refused_before_anything_is_read(
    scoped_db: Db, lots: list[dict[str, Any]]
) -> None:
    with pytest.raises(ScopeNotFound):
        run_import(scoped_db, lots[:5], scope="nowhere")
    assert count(scoped_db, Lot) == 0


def test_lots_the_file_no_longer_lists_are_kept_and_counted(
    scoped_db: Db, lots: list[dict[str, Any]]
) -> None:
    run_import(scoped_db, lots[:20])
    summary = run_import(scoped_db, lots[:15])
    assert (summary.lots, summary.updated, summary.not_in_file) == (15, 15, 5)
    assert count(scoped_db, Lot) == 20
    with scoped_db.tx() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions.count("lots.import") == 2


def test_list_and_show(scoped_db: Db, lots: list[dict[str, Any]]) -> None:
    run_import(scoped_db, lots[:30])
    with scoped_db.tx() as session:
        listed = service.list_lots(session)
        assert service.list_lots(session, "tpe-roadside") == []
        with pytest.raises(LotNotFound):
            service.get_lot(session, "TPE9999")
    assert [lot.id for lot in listed] == sorted(lot["id"] for lot in lots[:30])
    assert all(set(lot.tariffs) == set(TariffClass) for lot in listed)
