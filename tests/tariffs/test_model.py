"""The tariff document: JSON round trip and the errors of a tariff that contradicts itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from platebind.tariffs.days import DayKind, describe_days, parse_clock
from platebind.tariffs.errors import TariffInvalid
from platebind.tariffs.model import Tariff, TariffBook, book_from_json, tariff_from_json
from tests.tariffs.helpers import at, flat
from tests.tariffs.strategies import tariffs

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]
BILLING = {"unit_minutes": 30, "first_unit_minutes": 60}


def hourly_doc(*rates: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"tariff_class": "car", "hourly": {"rates": list(rates), "billing": BILLING}, **extra}


def rate(days: list[str], *bands: tuple[str, str, str]) -> dict[str, Any]:
    return {"days": days, "bands": [{"start": a, "end": b, "per_hour": p} for a, b, p in bands]}


@settings(max_examples=100, deadline=None)
@given(tariffs)
def test_a_tariff_survives_a_json_round_trip(tariff: Tariff) -> None:
    text = tariff.model_dump_json()
    again = tariff_from_json(text)
    assert again == tariff
    assert again.model_dump_json() == text


def test_the_json_spells_times_days_and_prices_for_people() -> None:
    doc = json.loads(flat("7.5").model_dump_json())
    band = doc["hourly"]["rates"][0]["bands"][0]
    assert band == {"start": "00:00", "end": "24:00", "per_hour": "7.5"}
    assert doc["hourly"]["rates"][0]["days"] == EVERY_DAY
    assert doc["hourly"]["billing"]["across_bands"] == "split"


def test_bands_are_kept_in_time_order() -> None:
    tariff = tariff_from_json(
        hourly_doc(rate(EVERY_DAY, ("08:00", "24:00", "40"), ("00:00", "08:00", "10")))
    )
    assert tariff.hourly is not None
    assert [b.start for b in tariff.hourly.rates[0].bands] == [0, 480]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            hourly_doc(rate(EVERY_DAY, ("00:00", "09:00", "40"), ("17:00", "24:00", "20"))),
            "the bands for mon–sun, holiday leave 09:00–17:00 unpriced",
        ),
        (
            hourly_doc(rate(EVERY_DAY, ("00:00", "09:00", "40"), ("08:00", "24:00", "20"))),
            "the bands for mon–sun, holiday overlap at 08:00–09:00",
        ),
        (
            hourly_doc(rate(["mon", "tue", "wed", "thu", "fri"], ("00:00", "24:00", "40"))),
            "no hourly prices for sat, sun",
        ),
        (
            hourly_doc(
                rate(EVERY_DAY, ("00:00", "24:00", "40")), rate(["sat"], ("00:00", "24:00", "60"))
            ),
            "sat have two hourly prices",
        ),
        (
            hourly_doc(rate(EVERY_DAY, ("22:00", "08:00", "10"))),
            "split a night band at 24:00",
        ),
        (hourly_doc(rate(EVERY_DAY, ("00:00", "25:00", "10"))), "between 00:00 and 24:00"),
        (hourly_doc(rate(EVERY_DAY, ("00:00", "24:00", "-5"))), "greater than or equal to 0"),
        ({"tariff_class": "car"}, "this one is none of them"),
        ({"tariff_class": "car", "free": True, "caps": [{"amount": 50}]}, "daily caps need"),
        ({"tariff_class": "bus", "free": True}, "tariff_class"),
        ({"tariff_class": "car", "free": True, "price": 3}, "Extra inputs are not permitted"),
        (
            {"tariff_class": "car", "free": True, "valid_from": "2026-12-01T00:00:00"},
            "valid_from needs a time zone",
        ),
        (
            hourly_doc(
                rate(EVERY_DAY, ("00:00", "24:00", "40")),
                caps=[{"amount": 50, "resets_at": "02:00"}, {"amount": 60, "days": ["sat"]}],
            ),
            "sat have two caps",
        ),
    ],
)
def test_a_contradictory_tariff_is_refused_with_a_clear_error(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(TariffInvalid) as raised:
        tariff_from_json(document)
    assert message in raised.value.detail
    assert raised.value.code == "tariff_invalid"


def test_text_that_is_not_json_is_refused() -> None:
    with pytest.raises(TariffInvalid, match="invalid tariff"):
        tariff_from_json("{not json")


def test_a_book_refuses_two_versions_from_the_same_time() -> None:
    doc = {"tariffs": [json.loads(flat(20).model_dump_json())] * 2}
    with pytest.raises(TariffInvalid, match="same tariff class and valid_from"):
        book_from_json(doc)
    book = TariffBook(
        tariffs=(flat(20), flat(40).model_copy(update={"valid_from": at("2027-01-01 00:00")}))
    )
    assert book_from_json(book.model_dump_json()) == book


def test_clock_times_and_day_names_read_as_people_write_them() -> None:
    assert parse_clock("07:30") == 450
    assert parse_clock("24:00") == 1440
    with pytest.raises(ValueError, match="not a time of day"):
        parse_clock("7h30")
    assert describe_days(frozenset({DayKind.MON, DayKind.TUE, DayKind.WED, DayKind.SUN})) == (
        "mon–wed, sun"
    )
