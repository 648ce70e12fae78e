"""FareInfo, the feed's structured fares: cross-checked with the text, a fallback where it is
silent, its disagreements reported (the text stands)."""

from __future__ import annotations

from datetime import date
from typing import Any

from platebind.tariffs.payex import Status, read_payex
from tests.tariffs.helpers import CAR, HEAVY, MOTORCYCLE

# TPE0003, as in the feed: text and FareInfo agree.
AGREEING = {
    "Holiday": [{"Period": "00~24", "Fare": "30"}],
    "WorkingDay": [{"Period": "00~24", "Fare": "30"}],
}
# TPE0006, as in the feed: FareInfo gives 40/h on weekdays where the text says 50/h.
TPE0006_TEXT = "小型車：計時 週一~週五(10時~22時)50元/時，(22時~10時)10元/時，週六、週日、行政機關放假之紀念日與民俗日(10時~24時)60元/時，(24時~10時)10元/時，全程以半小時計;月租 全日4,800元，日間4,000元(10時~22時)，夜間500元(21時~09時)。機車：機車收費20元/次;機車月租300元/月"  # noqa: E501
TPE0006_FARE_INFO = {
    "Holiday": [
        {"Period": "00~10", "Fare": "10"},
        {"Period": "10~22", "Fare": "50"},
        {"Period": "22~24", "Fare": "10"},
    ],
    "WorkingDay": [
        {"Period": "00~10", "Fare": "10"},
        {"Period": "10~22", "Fare": "40"},
        {"Period": "22~24", "Fare": "10"},
    ],
}


def rule(parking_type: str, start: str, end: str, rate: str, **extra: Any) -> dict[str, Any]:
    return {
        "ParkingType": parking_type,
        "RateType": "1",
        "ChargeableSTime": start,
        "ChargeableETime": end,
        "ParkingRates": rate,
        "CUnit": "",
        **extra,
    }


def test_agreeing_fare_info_changes_nothing() -> None:
    reading = read_payex("小型車：計時 30元/時，全程以半小時計，全日雙月票11,520元。", AGREEING)
    assert (reading[CAR].status, reading[CAR].conflicts) == (Status.FULL, ())


def test_a_disagreement_is_reported_and_the_text_stands() -> None:
    reading = read_payex(TPE0006_TEXT, TPE0006_FARE_INFO)[CAR]
    assert reading.status is Status.FULL
    assert reading.conflicts == (
        "FareInfo gives 40/h for mon–fri 10:00–22:00, the text 50/h",
        "FareInfo gives 50/h for sat, sun, holiday 10:00–22:00, the text 60/h",
        "FareInfo gives 10/h for sat, sun, holiday 22:00–24:00, the text 60/h",
    )
    assert reading.tariff is not None
    assert reading.tariff.hourly is not None
    _, monday = reading.tariff.hourly.bands_on(date(2026, 11, 30))
    assert [(b.start, b.end, int(b.per_hour)) for b in monday] == [
        (0, 600, 10),
        (600, 1320, 50),
        (1320, 1440, 10),
    ]


def test_fare_rules_are_checked_per_vehicle_type() -> None:
    text = "計時：小型車(含大型重型機車)40元/時，機車10元/時，全程以半小時計費。"
    rules = {"FareRule": [rule("CM", "0000", "2400", "40"), rule("M", "0800", "2000", "20")]}
    reading = read_payex(text, rules)
    assert (reading[CAR].conflicts, reading[HEAVY].conflicts) == ((), ())
    assert reading[MOTORCYCLE].conflicts == (
        "FareInfo gives 20/h for mon–sun, holiday 08:00–20:00, the text 10/h",
    )


def test_fare_rules_that_are_not_plainly_per_hour_are_left_aside() -> None:
    text = "計時：小型車40元/時，全程以半小時計費。"
    rules = {
        "FareRule": [
            rule("C", "0000", "2400", "100", RateType="2"),  # per entry? not documented
            rule("C", "0000", "2400", "100", CUnit="min"),
            rule("T", "0000", "2400", "300"),  # buses
        ]
    }
    reading = read_payex(text, rules)[CAR]
    assert (reading.status, reading.conflicts) == (Status.FULL, ())


def test_fare_info_gives_the_prices_the_text_leaves_out() -> None:
    # The text states the billing unit but no price; FareInfo prices a night band.
    fare_info = {
        "WorkingDay": [{"Period": "08~22", "Fare": "40"}, {"Period": "22~08", "Fare": "10"}],
        "Holiday": [{"Period": "00~24", "Fare": "50"}],
    }
    reading = read_payex("小型車：全程以半小時計。", fare_info)[CAR]
    assert reading.status is Status.FULL
    assert reading.tariff is not None
    assert reading.tariff.hourly is not None
    bands = {
        tuple(sorted(d.value for d in r.days)): [(b.start, b.end, int(b.per_hour)) for b in r.bands]
        for r in reading.tariff.hourly.rates
    }
    assert bands == {
        ("fri", "mon", "thu", "tue", "wed"): [(0, 480, 10), (480, 1320, 40), (1320, 1440, 10)],
        ("holiday", "sat", "sun"): [(0, 1440, 50)],
    }


def test_fare_info_that_cannot_be_read_is_reported_and_the_text_stands() -> None:
    broken = {"WorkingDay": [{"Period": "9 to 5", "Fare": "30"}]}
    reading = read_payex("計時：30元/時，全程以半小時計費。", broken)[CAR]
    assert reading.status is Status.FULL
    assert reading.conflicts == ("FareInfo cannot be read: '9 to 5' is not a period HH~HH",)
