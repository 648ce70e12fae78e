"""The traffic model, pure: a seeded plan of entry and exit reads at a set of lots.

Arrivals follow a Poisson process whose rate changes with the Taipei hour (quiet nights, a
morning and an evening peak), thinned from the peak rate; stays are log-normal (median 90
minutes, a long tail of all-day parkers); a share of exit reads is misread with the usual LPR
confusions, and a share of reads comes with a low confidence. A plate is in at most one lot at
a time. Same seed and inputs, same plan.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from platebind.clock import taipei
from platebind.parking.rules import CONFUSION_CLASSES

# Relative arrival rate per Taipei hour (1.0 = the peak rate ``rate``).
HOURLY_PROFILE = (
    0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.25, 0.6, 1.0, 0.9, 0.7, 0.65,
    0.7, 0.65, 0.6, 0.6, 0.7, 0.95, 0.9, 0.7, 0.5, 0.35, 0.2, 0.1,
)  # fmt: skip
MEDIAN_STAY_MINUTES = 90
STAY_SIGMA = 0.9
SHORTEST_STAY = timedelta(minutes=3)
LONGEST_STAY = timedelta(hours=20)
NEW_SERIES_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O since 2012
_PARTNERS = {ch: group.replace(ch, "") for group in CONFUSION_CLASSES for ch in group}


@dataclass(frozen=True)
class Shares:
    """How the simulated world reads: the share of drivers whose plate is bound, of exit
    reads that are misread, and of reads under the lots' confidence threshold."""

    bound: float = 0.6
    misread: float = 0.03
    low_confidence: float = 0.01


@dataclass(frozen=True)
class Read:
    """One camera read: what the gate posts (``plate`` as read) and the truth behind it."""

    lot_id: str
    event_id: str
    gate: str
    plate: str
    vehicle_type: str
    at: datetime
    confidence: float
    true_plate: str


def arrival_times(rng: random.Random, start: datetime, hours: float, rate: float) -> list[datetime]:
    """Arrivals at one lot: ``rate`` an hour at the peak, shaped by ``HOURLY_PROFILE``
    (Lewis–Shedler thinning of a homogeneous process at the peak rate)."""
    times: list[datetime] = []
    end = start + timedelta(hours=hours)
    at = start
    while rate > 0:
        at += timedelta(hours=rng.expovariate(rate))
        if at >= end:
            return times
        if rng.random() < HOURLY_PROFILE[taipei(at).hour]:
            times.append(at)
    return times


def stay_length(rng: random.Random) -> timedelta:
    minutes = rng.lognormvariate(math.log(MEDIAN_STAY_MINUTES), STAY_SIGMA)
    return min(LONGEST_STAY, max(SHORTEST_STAY, timedelta(minutes=minutes)))


def misread(rng: random.Random, plate: str) -> str:
    """The plate with one confusable character read as another of its class (unchanged when
    it has none)."""
    spots = [i for i, ch in enumerate(plate) if ch in _PARTNERS]
    if not spots:
        return plate
    i = rng.choice(spots)
    return plate[:i] + rng.choice(_PARTNERS[plate[i]]) + plate[i + 1 :]


def unbound_plate(rng: random.Random) -> str:
    """A new-series car plate (3 letters, 4 digits) made up for a visitor."""
    letters = "".join(rng.choice(NEW_SERIES_LETTERS) for _ in range(3))
    return f"{letters}-{rng.randint(1, 9999):04d}"


class PlatePool:
    """Who drives: plates bound in the scope (a ``Shares.bound`` share of arrivals) and
    made-up visitors; a plate inside a lot is not picked again until it has left."""

    def __init__(self, rng: random.Random, bound: Sequence[tuple[str, str]], shares: Shares):
        self.rng, self.bound, self.shares = rng, list(bound), shares
        self.inside_until: dict[tuple[str, str], datetime] = {}

    def pick(self, at: datetime, vehicle_type: str) -> tuple[str, str]:
        candidates = [p for p in self.bound if p[0] == vehicle_type]
        for _ in range(20):
            if candidates and self.rng.random() < self.shares.bound:
                choice = self.rng.choice(candidates)
            else:
                choice = (vehicle_type, unbound_plate(self.rng))
            if self.inside_until.get(choice, at) <= at:
                return choice
        return (vehicle_type, unbound_plate(self.rng))

    def park(self, plate: tuple[str, str], until: datetime) -> None:
        self.inside_until[plate] = until


@dataclass(frozen=True)
class SimLot:
    id: str
    vehicle_types: tuple[str, ...]  # the classes whose tariff reads in full


def _confidence(rng: random.Random, shares: Shares) -> float:
    if rng.random() < shares.low_confidence:
        return round(rng.uniform(0.3, 0.6), 3)
    return round(rng.uniform(0.9, 0.999), 3)


GUEST_STAY = timedelta(hours=2, minutes=10)
_CLEAR_READS = Shares(misread=0.0, low_confidence=0.0)


def plan_traffic(
    rng: random.Random,
    lots: Sequence[SimLot],
    pool: PlatePool,
    start: datetime,
    hours: float,
    rate: float,
    shares: Shares = Shares(),
    guests: Sequence[tuple[str, str]] = (),
) -> list[Read]:
    """Every read at ``lots`` within ``hours`` from ``start``, in time order. A car that has
    not left by the end stays inside (its session stays open). ``guests`` (vehicle type,
    plate) each make one clearly read visit of ``GUEST_STAY`` to the first lot, ending an hour
    before the end: plates a demo wants to see parked and billed."""
    visits = sorted((at, lot) for lot in lots for at in arrival_times(rng, start, hours, rate))
    end = start + timedelta(hours=hours)
    reads: list[Read] = []
    for n, identity in enumerate(guests):
        arrives = end - GUEST_STAY - timedelta(hours=1, minutes=10 * n)
        pool.park(identity, arrives + GUEST_STAY)
        reads += _visit(
            rng, lots[0], f"guest{n}", identity, arrives, arrives + GUEST_STAY, end, _CLEAR_READS
        )
    for n, (at, lot) in enumerate(visits):
        vehicle_type = rng.choice(lot.vehicle_types)
        identity = pool.pick(at, vehicle_type)
        leaves = at + stay_length(rng)
        pool.park(identity, leaves)
        reads += _visit(rng, lot, str(n), identity, at, leaves, end, shares)
    return sorted(reads, key=lambda r: (r.at, r.event_id))


def _visit(
    rng: random.Random,
    lot: SimLot,
    name: str,
    identity: tuple[str, str],
    arrives: datetime,
    leaves: datetime,
    end: datetime,
    shares: Shares,
) -> list[Read]:
    """The entry read, and the exit read when the car leaves before ``end``."""
    vehicle_type, plate = identity
    reads = [
        Read(lot.id, f"{lot.id}-{name}-in", "entry", plate, vehicle_type, arrives,
             _confidence(rng, shares), plate)
    ]  # fmt: skip
    if leaves < end:
        shown = misread(rng, plate) if rng.random() < shares.misread else plate
        reads.append(
            Read(lot.id, f"{lot.id}-{name}-out", "exit", shown, vehicle_type, leaves,
                 _confidence(rng, shares), plate)
        )  # fmt: skip
    return reads
