"""The fee engine's rules, one at a time, on tariffs built by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from platebind.plates import TariffClass
from platebind.tariffs.days import ALL_DAYS, WEEKDAYS, DayKind
from platebind.tariffs.engine import compute_fee, format_money, round_half_up
from platebind.tariffs.errors import StayInvalid, TariffInvalid, TariffNotInForce
from platebind.tariffs.model import (
    Billing,
    DailyCap,
    EntryRate,
    Grace,
    Hourly,
    PerEntry,
    Rate,
    Tariff,
    TariffBook,
)
from tests.tariffs.helpers import CAR, MOTORCYCLE, at, band, flat, hourly_tariff

DAY_NIGHT = (band("00:00", "08:00", 10), band("08:00", "22:00", 40), band("22:00", "24:00", 10))


def fee(
    tariff: Tariff | TariffBook, entered: str, exited: str, tariff_class: TariffClass = CAR
) -> int:
    return compute_fee(tariff, tariff_class, at(entered), at(exited)).amount


def test_a_stay_of_no_time_costs_nothing_even_with_a_whole_first_hour() -> None:
    tariff = flat(100, first=60)
    result = compute_fee(tariff, CAR, at("2026-11-27 10:00"), at("2026-11-27 10:00"))
    assert (result.amount, [line.kind for line in result.lines]) == (0, ["empty"])


def test_every_started_unit_is_charged_in_full() -> None:
    tariff = flat(30)  # 15 a half hour
    assert fee(tariff, "2026-11-27 10:00", "2026-11-27 10:00:01") == 15
    assert fee(tariff, "2026-11-27 10:00", "2026-11-27 10:30") == 15
    assert fee(tariff, "2026-11-27 10:00", "2026-11-27 10:30:01") == 30


def test_the_first_hour_counts_whole_then_half_hours() -> None:
    tariff = flat(60, first=60)  # 60 for the first hour, then 30 a half hour
    assert fee(tariff, "2026-11-27 10:00", "2026-11-27 10:05") == 60
    assert fee(tariff, "2026-11-27 10:00", "2026-11-27 11:00") == 60
    assert fee(tariff, "2026-11-27 10:00", "2026-11-27 11:01") == 90


def test_grace_is_inclusive_or_exclusive_as_the_text_says() -> None:
    inclusive = flat(40, grace=Grace(minutes=30, inclusive=True))
    exclusive = flat(40, grace=Grace(minutes=30, inclusive=False))
    assert fee(inclusive, "2026-11-27 10:00", "2026-11-27 10:30") == 0
    assert fee(exclusive, "2026-11-27 10:00", "2026-11-27 10:30") == 20
    # Past the grace the whole stay is charged, from the entry: 31 min = 2 units.
    assert fee(inclusive, "2026-11-27 10:00", "2026-11-27 10:31") == 40


def test_bands_split_the_running_unit_at_a_price_change() -> None:
    tariff = hourly_tariff(*DAY_NIGHT)
    # 21:50–22:00 day: 1u × 20; 22:00–22:20 night: 1u × 5.
    result = compute_fee(tariff, CAR, at("2026-11-27 21:50"), at("2026-11-27 22:20"))
    assert result.amount == 25
    assert [(line.band, line.units) for line in result.lines] == [
        ("08:00–22:00", 1),
        ("22:00–24:00", 1),
    ]


def test_units_can_run_on_and_take_the_price_where_they_start() -> None:
    tariff = hourly_tariff(*DAY_NIGHT, across="unit_start")
    # One unit from 21:50 (day, 20) runs to 22:20.
    assert fee(tariff, "2026-11-27 21:50", "2026-11-27 22:20") == 20
    # A second unit starts at 22:20 at the night price (5).
    assert fee(tariff, "2026-11-27 21:50", "2026-11-27 22:21") == 25


def test_midnight_is_no_edge_where_the_price_does_not_change() -> None:
    tariff = hourly_tariff(*DAY_NIGHT)
    # 23:50–00:10 at 10/h is one 20-minute stretch: 1 unit, not one each side of midnight.
    assert fee(tariff, "2026-11-27 23:50", "2026-11-28 00:10") == 5


def test_the_days_kind_comes_from_the_taipei_calendar_day() -> None:
    days_off = frozenset({DayKind.SAT, DayKind.SUN, DayKind.HOLIDAY})
    weekend = Rate(days=days_off, bands=(band("00:00", "24:00", 60),))
    week = Rate(days=frozenset(WEEKDAYS), bands=(band("00:00", "24:00", 20),))
    billing = Billing(unit_minutes=30, first_unit_minutes=30)
    tariff = Tariff(tariff_class=CAR, hourly=Hourly(rates=(week, weekend), billing=billing))
    assert fee(tariff, "2026-11-27 10:00", "2026-11-27 11:00") == 20  # Friday
    assert fee(tariff, "2026-12-25 10:00", "2026-12-25 11:00") == 60  # Friday, a holiday
    # 23:00 Friday to 01:00 Saturday: 2u × 10 + 2u × 30.
    assert fee(tariff, "2026-11-27 23:00", "2026-11-28 01:00") == 80
    # The same instant given in UTC is the same Taipei stay.
    utc = compute_fee(
        tariff, CAR, datetime(2026, 11, 27, 15, tzinfo=UTC), datetime(2026, 11, 27, 17, tzinfo=UTC)
    )
    assert utc.amount == 80


def test_a_tariff_without_holiday_prices_prices_a_holiday_as_its_weekday() -> None:
    tariff = hourly_tariff(band("00:00", "24:00", 20), days=ALL_DAYS - {DayKind.HOLIDAY})
    assert fee(tariff, "2026-12-25 10:00", "2026-12-25 11:00") == 20


def test_a_cap_limits_each_cap_day_and_resets_at_its_hour() -> None:
    tariff = flat(20, caps=(DailyCap(amount=50, resets_at=120),))  # days from 02:00
    # 00:00–04:00: 00:00–02:00 belongs to Thursday's cap day (4u = 40), 02:00–04:00 to
    # Friday's (4u = 40): no cap reached.
    assert fee(tariff, "2026-11-27 00:00", "2026-11-27 04:00") == 80
    # 02:00–08:00 is one cap day: 12u = 120 → 50.
    result = compute_fee(tariff, CAR, at("2026-11-27 02:00"), at("2026-11-27 08:00"))
    assert result.amount == 50
    assert result.lines[-1].kind == "cap"
    assert result.lines[-1].amount == Fraction(-70)


def test_a_cap_for_some_day_kinds_leaves_the_others_alone() -> None:
    tariff = flat(20, caps=(DailyCap(amount=50, days=WEEKDAYS),))
    assert fee(tariff, "2026-11-27 08:00", "2026-11-27 18:00") == 50  # Friday
    assert fee(tariff, "2026-11-28 08:00", "2026-11-28 18:00") == 200  # Saturday: 20u × 10
    assert fee(tariff, "2026-12-25 08:00", "2026-12-25 18:00") == 200  # a holiday is no weekday


def test_the_total_is_rounded_once_half_up() -> None:
    tariff = flat(15)  # 7.5 a half hour
    assert fee(tariff, "2026-11-27 10:00", "2026-11-27 10:30") == 8  # 7.5
    assert fee(tariff, "2026-11-27 10:00", "2026-11-27 11:30") == 23  # 22.5, not 3 × 8
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(249, 100)) == 2
    assert format_money(Fraction(15, 2)) == "7.5"
    assert format_money(Fraction(25, 3)) == "25/3"
    assert format_money(Fraction(-7, 4)) == "-1.75"


def test_per_entry_counts_each_period_the_stay_reaches() -> None:
    per_entry = PerEntry(rates=(EntryRate(days=ALL_DAYS, price=20),), day_boundary=120)
    tariff = Tariff(tariff_class=MOTORCYCLE, per_entry=per_entry)
    assert fee(tariff, "2026-11-27 10:00", "2026-11-28 01:59", MOTORCYCLE) == 20
    assert fee(tariff, "2026-11-27 10:00", "2026-11-28 02:00", MOTORCYCLE) == 20
    assert fee(tariff, "2026-11-27 10:00", "2026-11-28 02:01", MOTORCYCLE) == 40
    once = Tariff(tariff_class=MOTORCYCLE, per_entry=PerEntry(rates=per_entry.rates))
    assert fee(once, "2026-11-27 10:00", "2026-11-30 10:00", MOTORCYCLE) == 20


def test_free_parking_costs_nothing() -> None:
    tariff = Tariff(tariff_class=MOTORCYCLE, free=True)
    assert fee(tariff, "2026-11-27 10:00", "2026-11-29 10:00", MOTORCYCLE) == 0


def test_a_book_chooses_the_version_in_force_at_the_entry() -> None:
    old = flat(20)
    new = flat(40).model_copy(update={"valid_from": at("2026-12-01 00:00")})
    book = TariffBook(tariffs=(old, new))
    assert fee(book, "2026-11-30 23:30", "2026-12-01 00:30") == 20  # entered under the old one
    assert fee(book, "2026-12-01 10:00", "2026-12-01 10:30") == 20  # 40/h: 1u = 20
    assert fee(book, "2026-12-01 10:00", "2026-12-01 11:00") == 40
    with pytest.raises(TariffNotInForce):
        compute_fee(book, MOTORCYCLE, at("2026-12-01 10:00"), at("2026-12-01 11:00"))
    later = TariffBook(tariffs=(new,))
    with pytest.raises(TariffNotInForce):
        compute_fee(later, CAR, at("2026-11-30 10:00"), at("2026-11-30 11:00"))


@pytest.mark.parametrize(
    ("entered", "exited", "message"),
    [
        (datetime(2026, 11, 27, 10), at("2026-11-27 11:00"), "has no time zone"),
        (at("2026-11-27 11:00"), at("2026-11-27 10:00"), "is before the entry"),
    ],
)
def test_stays_the_engine_cannot_price_are_refused(
    entered: datetime, exited: datetime, message: str
) -> None:
    with pytest.raises(StayInvalid, match=message) as raised:
        compute_fee(flat(20), CAR, entered, exited)
    assert raised.value.code == "stay_invalid"


def test_a_tariff_of_another_class_is_refused() -> None:
    with pytest.raises(TariffInvalid, match="not a motorcycle one"):
        compute_fee(flat(20), MOTORCYCLE, at("2026-11-27 10:00"), at("2026-11-27 11:00"))


def test_the_breakdown_names_band_units_and_cap_in_json() -> None:
    tariff = hourly_tariff(*DAY_NIGHT, caps=(DailyCap(amount=100),))
    result = compute_fee(tariff, CAR, at("2026-11-28 07:00"), at("2026-11-28 12:00"))
    doc = result.as_dict()
    # 07:00–08:00 2u × 5 = 10; 08:00–12:00 8u × 20 = 160; 170 → 100.
    assert doc["amount"] == 100
    assert doc["entered_at"] == "2026-11-28T07:00:00+08:00"
    assert [(i["kind"], i["amount"], i.get("units")) for i in doc["breakdown"]] == [
        ("units", "10", 2),
        ("units", "160", 8),
        ("cap", "-70", None),
    ]
    assert doc["breakdown"][0]["unit_price"] == "5"
    assert doc["breakdown"][0]["day_kind"] == "sat"


def test_a_long_stay_is_priced_day_by_day() -> None:
    tariff = hourly_tariff(*DAY_NIGHT, caps=(DailyCap(amount=100),))
    entered = at("2026-11-27 00:00")
    # Every whole day: 16u × 5 + 28u × 20 + 4u × 5 = 660 → 100.
    result = compute_fee(tariff, CAR, entered, entered + timedelta(days=30))
    assert result.amount == 30 * 100
