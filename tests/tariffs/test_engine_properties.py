"""Properties of the fee engine over generated tariffs and stays."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from platebind.clock import TAIPEI
from platebind.tariffs.days import ALL_DAYS
from platebind.tariffs.engine import compute_fee
from platebind.tariffs.model import DailyCap, Tariff
from tests.tariffs.helpers import CAR
from tests.tariffs.strategies import (
    caps,
    durations,
    entries,
    hourlies,
    hourly_tariffs,
    tariffs,
)

# No deadline: generating tariffs is slow on a busy 2-core machine, not the engine.
PROPERTY = settings(max_examples=100, deadline=None)


@PROPERTY
@given(tariffs, entries, durations, durations)
def test_the_fee_never_decreases_when_the_stay_grows(
    tariff: Tariff, entered: datetime, stayed: timedelta, more: timedelta
) -> None:
    shorter = compute_fee(tariff, CAR, entered, entered + stayed)
    longer = compute_fee(tariff, CAR, entered, entered + stayed + more)
    assert shorter.amount <= longer.amount
    assert shorter.exact <= longer.exact


@PROPERTY
@given(hourly_tariffs(), caps, entries, durations)
def test_the_fee_never_exceeds_the_caps_of_the_days_the_stay_touches(
    tariff: Tariff, cap: DailyCap, entered: datetime, stayed: timedelta
) -> None:
    assume(stayed > timedelta(0))
    capped = tariff.model_copy(update={"caps": (cap.model_copy(update={"days": ALL_DAYS}),)})
    exited = entered + stayed
    reset = timedelta(minutes=cap.resets_at)
    first_day = (entered.astimezone(TAIPEI) - reset).date()
    last_day = (exited.astimezone(TAIPEI) - timedelta(microseconds=1) - reset).date()
    cap_days = (last_day - first_day).days + 1
    assert compute_fee(capped, CAR, entered, exited).amount <= cap.amount * cap_days


@PROPERTY
@given(tariffs, entries)
def test_a_stay_of_no_time_costs_nothing(tariff: Tariff, entered: datetime) -> None:
    assert compute_fee(tariff, CAR, entered, entered).amount == 0


@PROPERTY
@given(tariffs, entries, st.data())
def test_a_stay_within_the_free_minutes_costs_nothing(
    tariff: Tariff, entered: datetime, data: st.DataObject
) -> None:
    assume(tariff.grace is not None)
    assert tariff.grace is not None
    limit = tariff.grace.minutes * 60 - (0 if tariff.grace.inclusive else 1)
    stayed = timedelta(seconds=data.draw(st.integers(0, limit)))
    assert compute_fee(tariff, CAR, entered, entered + stayed).amount == 0


def _price_changes(tariff: Tariff, day: datetime) -> list[datetime]:
    """The instants of ``day`` where the price per hour changes (midnight included)."""
    assert tariff.hourly is not None
    midnight = datetime.combine(day.date(), time(), TAIPEI)
    before = tariff.hourly.bands_on((midnight - timedelta(days=1)).date())[1][-1].per_hour
    changes = []
    for band in tariff.hourly.bands_on(midnight.date())[1]:
        if band.per_hour != before:
            changes.append(midnight + timedelta(minutes=band.start))
        before = band.per_hour
    return changes


@PROPERTY
@given(hourlies(split_only=True), entries, st.data())
def test_splitting_a_stay_at_a_band_edge_does_not_change_its_price(
    hourly: object, day: datetime, data: st.DataObject
) -> None:
    tariff = Tariff.model_validate({"tariff_class": CAR, "hourly": hourly})
    changes = _price_changes(tariff, day)
    assume(changes)
    edge = data.draw(st.sampled_from(changes))
    entered = edge - timedelta(minutes=data.draw(st.integers(1, 2000)))
    exited = edge + timedelta(seconds=data.draw(st.integers(1, 120000)))
    whole = compute_fee(tariff, CAR, entered, exited)
    before = compute_fee(tariff, CAR, entered, edge)
    after = compute_fee(tariff, CAR, edge, exited)
    assert whole.exact == before.exact + after.exact
    if before.exact.denominator == after.exact.denominator == 1:
        assert whole.amount == before.amount + after.amount
