"""The traffic model: deterministic, shaped by the hour, plates never in two places at once."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from platebind.clock import taipei
from platebind.parking.rules import confusable
from platebind.plates import canonical_plate
from platebind.simulation.traffic import (
    LONGEST_STAY,
    SHORTEST_STAY,
    PlatePool,
    Read,
    Shares,
    SimLot,
    arrival_times,
    misread,
    plan_traffic,
    stay_length,
)
from tests.registry.test_cutover import tpe

START = tpe("2026-11-26 00:00")
DEFAULT_SHARES = Shares()
LOTS = [SimLot("TPE0001", ("car",)), SimLot("TPE0002", ("car", "motorcycle"))]
BOUND = [("car", "ABC-1234"), ("car", "BCD-2345"), ("motorcycle", "MCL-5678")]


def plan(
    seed: int = 1,
    hours: float = 24,
    rate: float = 20,
    shares: Shares = DEFAULT_SHARES,
    bound: list[tuple[str, str]] = BOUND,
) -> list[Read]:
    rng = random.Random(seed)
    return plan_traffic(rng, LOTS, PlatePool(rng, bound, shares), START, hours, rate, shares)


def test_the_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    assert plan(1) == plan(1)
    assert plan(1) != plan(2)


def test_arrivals_peak_in_the_morning_and_are_rare_at_night() -> None:
    times = arrival_times(random.Random(3), START, 24 * 20, 30)
    by_hour = Counter(taipei(t).hour for t in times)
    assert by_hour[8] > 10 * by_hour[3]
    assert by_hour[17] > by_hour[14]
    # The peak hour's average is near the peak rate (30 an hour) over 20 days.
    assert 0.8 * 30 * 20 < by_hour[8] < 1.2 * 30 * 20


def test_every_exit_follows_its_entry_and_reads_are_in_time_order() -> None:
    reads = plan()
    assert [r.at for r in reads] == sorted(r.at for r in reads)
    entries = {r.event_id.removesuffix("-in"): r for r in reads if r.gate == "entry"}
    exits = [r for r in reads if r.gate == "exit"]
    assert exits
    for out in exits:
        entry = entries[out.event_id.removesuffix("-out")]
        assert SHORTEST_STAY <= out.at - entry.at <= LONGEST_STAY
        assert (out.lot_id, out.true_plate, out.vehicle_type) == (
            entry.lot_id,
            entry.true_plate,
            entry.vehicle_type,
        )


def test_a_plate_is_never_inside_two_lots_at_once() -> None:
    reads = plan(rate=40)
    inside: dict[tuple[str, str], str] = {}
    for read in reads:
        identity = (read.vehicle_type, read.true_plate)
        if read.gate == "entry":
            assert identity not in inside, read
            inside[identity] = read.lot_id
        else:
            assert inside.pop(identity) == read.lot_id


def test_shares_of_bound_plates_misreads_and_low_confidence() -> None:
    shares = Shares(bound=0.5, misread=0.2, low_confidence=0.1)
    many = [("car", f"BND-{n:04d}") for n in range(1, 2000)]
    reads = plan(hours=24 * 5, rate=30, shares=shares, bound=many)
    entries = [r for r in reads if r.gate == "entry"]
    exits = [r for r in reads if r.gate == "exit"]
    bound = sum((r.vehicle_type, r.true_plate) in set(many) for r in entries) / len(entries)
    wrong = sum(r.plate != r.true_plate for r in exits) / len(exits)
    low = sum(r.confidence < 0.8 for r in reads) / len(reads)
    # Motorcycles have no bound plate here: half the cars (two thirds of arrivals) are bound.
    assert 0.25 < bound < 0.42
    assert 0.12 < wrong < 0.25  # misreads of plates with no confusable character stay right
    assert 0.07 < low < 0.13
    assert all(r.plate == r.true_plate for r in entries)


def test_visitors_have_valid_new_series_plates() -> None:
    for read in plan(shares=Shares(bound=0.0)):
        assert canonical_plate(read.true_plate, read.vehicle_type) == read.true_plate


@given(st.integers(min_value=0, max_value=2**32))
def test_a_misread_is_always_an_lpr_confusion_of_the_plate(seed: int) -> None:
    rng = random.Random(seed)
    plate = (
        f"{rng.choice('ABDQS')}{rng.choice('BIZ8')}{rng.choice('OQX')}-{rng.randint(0, 9999):04d}"
    )
    read = misread(rng, plate)
    assert confusable(read, plate)
    assert sum(a != b for a, b in zip(read, plate, strict=True)) <= 1


def test_stays_have_a_realistic_median_and_bounds() -> None:
    rng = random.Random(5)
    stays = sorted(stay_length(rng) for _ in range(5000))
    median = stays[len(stays) // 2]
    assert timedelta(minutes=75) < median < timedelta(minutes=105)
    assert stays[0] >= SHORTEST_STAY
    assert stays[-1] <= LONGEST_STAY


def test_a_guest_visits_the_first_lot_once_and_is_read_clearly() -> None:
    rng = random.Random(4)
    guest = ("car", "GST-0001")
    reads = plan_traffic(rng, LOTS, PlatePool(rng, BOUND, DEFAULT_SHARES), START, 24, 20,
                         DEFAULT_SHARES, guests=[guest])  # fmt: skip
    visits = [r for r in reads if r.true_plate == guest[1]]
    assert [(r.gate, r.lot_id, r.plate) for r in visits] == [
        ("entry", "TPE0001", "GST-0001"),
        ("exit", "TPE0001", "GST-0001"),
    ]
    assert visits[1].at - visits[0].at == timedelta(hours=2, minutes=10)
    assert all(r.confidence >= 0.9 for r in visits)
