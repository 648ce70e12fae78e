"""Hypothesis strategies: tariffs of every kind, and stays around a Taiwan holiday."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from platebind.clock import TAIPEI
from platebind.tariffs.days import ALL_DAYS, DAYS_OFF, WEEKDAYS, DayKind
from platebind.tariffs.model import (
    Band,
    Billing,
    DailyCap,
    EntryRate,
    Grace,
    Hourly,
    PerEntry,
    Rate,
    Tariff,
)
from tests.tariffs.helpers import CAR

# Stays start between Monday 2026-12-21 and Sunday 2027-01-03: Christmas Day (Constitution
# Day) and New Year's Day are Taiwan holidays.
START = datetime(2026, 12, 21, tzinfo=TAIPEI)
DAY_SPLITS = [ALL_DAYS], [WEEKDAYS, DAYS_OFF], [ALL_DAYS - {DayKind.HOLIDAY}]
prices = st.sampled_from([0, 10, 15, 20, 25, 30, 40, 50, 60, 100]).map(Decimal)


@st.composite
def day_bands(draw: st.DrawFn) -> tuple[Band, ...]:
    cuts = draw(st.lists(st.integers(1, 47).map(lambda h: h * 30), max_size=4, unique=True))
    edges = [0, *sorted(cuts), 24 * 60]
    return tuple(
        Band(start=a, end=b, per_hour=draw(prices)) for a, b in zip(edges, edges[1:], strict=False)
    )


@st.composite
def billings(draw: st.DrawFn, split_only: bool = False) -> Billing:
    unit = draw(st.sampled_from([15, 30, 60]))
    first = unit if split_only else draw(st.sampled_from([unit, 60]))
    across = "split" if split_only else draw(st.sampled_from(["split", "unit_start"]))
    return Billing(unit_minutes=unit, first_unit_minutes=first, across_bands=across)


@st.composite
def hourlies(draw: st.DrawFn, split_only: bool = False) -> Hourly:
    split = draw(st.sampled_from(DAY_SPLITS))
    rates = tuple(Rate(days=frozenset(days), bands=draw(day_bands())) for days in split)
    return Hourly(rates=rates, billing=draw(billings(split_only=split_only)))


graces = st.builds(Grace, minutes=st.integers(1, 60), inclusive=st.booleans())
caps = st.builds(DailyCap, amount=st.integers(0, 400), resets_at=st.sampled_from([0, 120, 180]))


@st.composite
def hourly_tariffs(draw: st.DrawFn) -> Tariff:
    return Tariff(
        tariff_class=CAR,
        hourly=draw(hourlies()),
        grace=draw(st.none() | graces),
        caps=tuple(draw(st.lists(caps, max_size=1))),
    )


@st.composite
def entry_tariffs(draw: st.DrawFn) -> Tariff:
    split = draw(st.sampled_from(DAY_SPLITS))
    rates = tuple(
        EntryRate(days=frozenset(days), price=draw(st.integers(0, 200))) for days in split
    )
    boundary = draw(st.none() | st.sampled_from([0, 120, 180]))
    per_entry = PerEntry(rates=rates, day_boundary=boundary)
    return Tariff(tariff_class=CAR, per_entry=per_entry, grace=draw(st.none() | graces))


tariffs = st.one_of(
    hourly_tariffs(),
    entry_tariffs(),
    st.just(Tariff(tariff_class=CAR, free=True)),
)

entries = st.integers(0, 13 * 24 * 60).map(lambda m: START + timedelta(minutes=m))
# Seconds, so that stays end between the minutes the tariffs know about too.
durations = st.integers(0, 3 * 24 * 3600).map(lambda s: timedelta(seconds=s))
