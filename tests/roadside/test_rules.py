"""The roadside rules on an injected clock: billing days, due dates, reminder and surcharge."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from platebind.plates import TariffClass
from platebind.roadside.rules import (
    RoadsideRules,
    Stage,
    billing_day,
    car_fee,
    due_at,
    is_second_motorcycle_bill,
    may_auto_pay,
    stage,
    surcharge_at,
)
from platebind.tariffs.payex import read_payex
from tests.registry.test_cutover import tpe

RULES = RoadsideRules()


def test_a_motorcycle_is_billed_once_per_day_and_again_after_the_boundary() -> None:
    first = tpe("2026-11-26 09:00")
    days = {billing_day(first, RULES.day_boundary)}
    assert is_second_motorcycle_bill(tpe("2026-11-26 23:59"), days, RULES)
    assert not is_second_motorcycle_bill(tpe("2026-11-27 00:00"), days, RULES)


def test_a_day_boundary_at_two_in_the_morning_keeps_the_night_on_the_previous_day() -> None:
    rules = RoadsideRules(day_boundary=time(2, 0))
    days = {billing_day(tpe("2026-11-26 21:00"), rules.day_boundary)}
    assert is_second_motorcycle_bill(tpe("2026-11-27 01:59"), days, rules)
    assert not is_second_motorcycle_bill(tpe("2026-11-27 02:00"), days, rules)


def test_a_bill_is_due_at_the_end_of_its_last_day() -> None:
    issued = tpe("2026-11-26 15:30")
    assert due_at(issued, RULES) == tpe("2026-12-04 00:00")  # 7 whole days after the 26th
    assert may_auto_pay(due_at(issued, RULES), tpe("2026-12-03 23:59"))
    assert not may_auto_pay(due_at(issued, RULES), tpe("2026-12-04 00:00"))


def test_unpaid_bill_goes_due_then_reminded_then_surcharged() -> None:
    due = due_at(tpe("2026-11-26 15:30"), RULES)
    assert stage(due, None, None, tpe("2026-12-03 23:59"), RULES) is Stage.OPEN
    assert stage(due, None, None, tpe("2026-12-04 00:00"), RULES) is Stage.OVERDUE
    reminded = tpe("2026-12-04 04:00")
    assert surcharge_at(reminded, RULES) == tpe("2026-12-20 00:00")
    assert stage(due, reminded, None, tpe("2026-12-19 23:59"), RULES) is Stage.REMINDED
    assert stage(due, reminded, None, tpe("2026-12-20 00:00"), RULES) is Stage.SURCHARGE_DUE
    later = tpe("2026-12-20 04:00")
    assert stage(due, reminded, later, later + timedelta(days=30), RULES) is Stage.SURCHARGED


def test_a_car_pays_every_started_half_hour_of_its_segment_tariff() -> None:
    reading = read_payex("計時：30元/時，全程以半小時計。")
    tariff = reading.classes[TariffClass.CAR].tariff
    assert tariff is not None
    # 10:00-11:10 is three started half hours at 15 TWD each.
    assert car_fee(tariff, tpe("2026-11-26 10:00"), tpe("2026-11-26 11:10")).amount == 45


def test_rules_round_trip_and_refuse_nonsense() -> None:
    rules = RoadsideRules(day_boundary=time(2, 0), due_days=10, surcharge=50)
    assert RoadsideRules.from_dict(rules.as_dict()) == rules
    with pytest.raises(ValueError, match="days"):
        RoadsideRules(due_days=0)
    with pytest.raises(ValueError, match="negative"):
        RoadsideRules(surcharge=-1)
