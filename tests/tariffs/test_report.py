"""The whole Taipei feed, read once: coverage per vehicle type and the unread phrases."""

from __future__ import annotations

from typing import Any

import pytest

from platebind.tariffs.feed import load_feed, read_lot_tariffs, unlabeled_classes
from platebind.tariffs.payex import CLASSES, Status
from platebind.tariffs.report import Coverage
from tests.tariffs.helpers import CAR, HEAVY, MOTORCYCLE, taipei_feed


@pytest.fixture(scope="module")
def feed() -> tuple[list[dict[str, Any]], Coverage]:
    lots = load_feed(taipei_feed())
    coverage = Coverage()
    for lot in lots:
        reading = read_lot_tariffs(lot)
        for result in reading.classes.values():
            # Unread phrases are quoted from the lot's own text.
            assert all(phrase in lot["payex"] for phrase in result.unread), lot["id"]
            assert (result.tariff is not None) == (result.status is Status.FULL)
        coverage.add(reading)
    return lots, coverage


def test_every_lot_of_the_feed_is_read_and_counted_once_per_class(
    feed: tuple[list[dict[str, Any]], Coverage],
) -> None:
    lots, coverage = feed
    assert coverage.lots == len(lots) == 1680
    for tariff_class in CLASSES:
        counts = coverage.classes[tariff_class].counts
        assert sum(counts.values()) == 1680
        assert coverage.classes[tariff_class].stated == 1680 - counts[Status.ABSENT]


def test_most_car_tariffs_the_feed_states_are_read_in_full(
    feed: tuple[list[dict[str, Any]], Coverage],
) -> None:
    _, coverage = feed
    assert coverage.classes[CAR].full_share >= 0.85
    assert coverage.classes[CAR].stated >= 1400
    assert coverage.classes[MOTORCYCLE].full_share >= 0.75
    assert coverage.classes[HEAVY].full_share >= 0.75
    document = coverage.as_dict(top=5)
    assert len(document["top_unread"]) == 5
    assert document["top_unread"][0]["lots"] >= document["top_unread"][-1]["lots"]


def test_an_unlabeled_text_prices_motorcycles_only_where_there_are_no_car_spaces(
    feed: tuple[list[dict[str, Any]], Coverage],
) -> None:
    lots, _ = feed
    by_id = {lot["id"]: lot for lot in lots}
    assert unlabeled_classes(by_id["TPE0791"]) == (MOTORCYCLE,)  # 0 cars, 1,050 motorcycles
    assert unlabeled_classes(by_id["TPE0001"]) == (CAR,)
    assert read_lot_tariffs(by_id["TPE0791"])[MOTORCYCLE].status is Status.FULL
