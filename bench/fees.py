"""Fee engine throughput: fees per second for realistic stays, against a trivial per-hour
multiplication measured in the same run.

Run from the repository root::

    .venv/bin/python -m bench.fees                  # report as a table
    .venv/bin/python -m bench.fees --n 50000 --json

Tariffs: every car tariff of the Taipei feed (``--feed``, by default the one beside this
repository) that reads in full — flat, banded, weekday/weekend, capped, per entry. Stays, drawn
once with a fixed seed: entries over four weeks holding three Taiwan holidays (Christmas is
Constitution Day, New Year's Day and its eve's weekend), durations from a city-lot mix: 60 %
under 3 hours, 30 % 3–12 hours, 10 % one to three days.

Measurements, one stay after the other, cycling through the same stays and tariffs:

- ``baseline``: ``ceil(minutes / 30) × price of a half hour`` — what a meter with one price does;
- ``fee``: ``compute_fee(tariff, car, entered, exited)`` (day kinds, bands, caps, breakdown);
- ``fee_short`` and ``fee_long``: the same on the stays under 3 hours and over a day;
- ``parse``: ``read_payex`` on the feed's texts (texts/s, not a ratio to the baseline).

The report gives ops/s, p50/p99 latency and each fee measurement's throughput as a ratio to the
baseline's.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.common import (
    Stats,
    dump_json,
    machine_info,
    measure,
    print_table,
    print_title,
    progress,
    ratio,
)
from platebind.clock import TAIPEI
from platebind.data import TAIPEI_FEED
from platebind.plates import TariffClass
from platebind.tariffs.engine import compute_fee
from platebind.tariffs.feed import load_feed, read_lot_tariffs
from platebind.tariffs.model import Tariff
from platebind.tariffs.payex import Status, read_payex

DEFAULT_N = 20_000
DEFAULT_FEED = TAIPEI_FEED
START = datetime(2026, 12, 14, tzinfo=TAIPEI)  # Monday; four weeks to 2027-01-10
CAR = TariffClass.CAR
HALF_HOUR = timedelta(minutes=30)
Stay = tuple[Tariff, datetime, datetime]


def stay_length(rng: random.Random) -> timedelta:
    draw = rng.random()
    if draw < 0.6:
        minutes = rng.randint(1, 180)
    elif draw < 0.9:
        minutes = rng.randint(180, 720)
    else:
        minutes = rng.randint(1440, 3 * 1440)
    return timedelta(minutes=minutes, seconds=rng.randint(0, 59))


def draw_stays(tariffs: list[Tariff], count: int, seed: int) -> list[Stay]:
    rng = random.Random(seed)
    stays = []
    for _ in range(count):
        entered = START + timedelta(minutes=rng.randint(0, 28 * 1440))
        stays.append((rng.choice(tariffs), entered, entered + stay_length(rng)))
    return stays


def half_hour_price(tariff: Tariff) -> Fraction:
    """One price for the baseline: the tariff's first band (or its per-entry price), exact like
    the engine's, so the ratio measures the rules and not float against Fraction."""
    if tariff.hourly is not None:
        return Fraction(tariff.hourly.rates[0].bands[0].per_hour) / 2
    if tariff.per_entry is not None:
        return Fraction(tariff.per_entry.rates[0].price)
    return Fraction(0)


def cycling(stays: list[Stay]) -> Iterator[Stay]:
    return itertools.cycle(stays)


def operations(stays: list[Stay], texts: list[str]) -> dict[str, Callable[[], object]]:
    prices = {id(t): half_hour_price(t) for t, _, _ in stays}
    all_stays, short, long_ = (
        cycling(stays),
        cycling([s for s in stays if s[2] - s[1] < timedelta(hours=3)]),
        cycling([s for s in stays if s[2] - s[1] > timedelta(days=1)]),
    )
    baseline_stays = cycling(stays)
    text_cycle = itertools.cycle(texts)

    def baseline() -> object:
        tariff, entered, exited = next(baseline_stays)
        return math.ceil((exited - entered) / HALF_HOUR) * prices[id(tariff)]

    def fee(source: Iterator[Stay]) -> Callable[[], object]:
        return lambda: compute_fee(*_args(next(source)))

    return {
        "baseline": baseline,
        "fee": fee(all_stays),
        "fee_short": fee(short),
        "fee_long": fee(long_),
        "parse": lambda: read_payex(next(text_cycle)),
    }


def _args(stay: Stay) -> tuple[Tariff, TariffClass, datetime, datetime]:
    tariff, entered, exited = stay
    return tariff, CAR, entered, exited


def feed_tariffs(path: Path) -> tuple[list[Tariff], list[str]]:
    lots = load_feed(path)
    tariffs = []
    for lot in lots:
        reading = read_lot_tariffs(lot)[CAR]
        if reading.status is Status.FULL and reading.tariff is not None:
            tariffs.append(reading.tariff)
    return tariffs, [str(lot.get("payex") or "") for lot in lots]


def run(args: argparse.Namespace, bar: tqdm[Any]) -> dict[str, Stats]:
    tariffs, texts = feed_tariffs(args.feed)
    stays = draw_stays(tariffs, args.stays, args.seed)
    results = {}
    for name, operation in operations(stays, texts).items():
        results[name] = measure(operation, args.n, warmup=args.warmup, bar=bar)
    return results


def ratios(results: dict[str, Stats]) -> dict[str, float]:
    return {
        f"{name}/baseline": ratio(results[name], results["baseline"])
        for name in ("fee", "fee_short", "fee_long")
    }


def print_report(results: dict[str, Stats], info: dict[str, Any], args: argparse.Namespace) -> None:
    print_title("fees", info, [])
    print(
        f"n = {args.n:,} ops per measurement after {args.warmup:,} warm-up ops; {args.stays:,} "
        f"stays (seed {args.seed}) over the feed's car tariffs; load average {info['load_average']}"
    )
    print()
    rows = [[name, s.ops_per_s, s.p50_us, s.p99_us] for name, s in results.items()]
    print_table(["operation", "ops/s", "p50 µs", "p99 µs"], rows)
    print()
    print_table(list(ratios(results)), [list(ratios(results).values())])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fees", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="ops per measurement")
    parser.add_argument("--warmup", type=int, default=None, help="default n/10, at least 50")
    parser.add_argument("--stays", type=int, default=5000, help="distinct stays (default 5000)")
    parser.add_argument("--seed", type=int, default=20261225)
    parser.add_argument("--feed", type=Path, default=DEFAULT_FEED, help="TCMSV_alldesc.json")
    parser.add_argument("--json", action="store_true", help="one JSON document, nothing else")
    args = parser.parse_args(argv)
    if args.n < 1 or args.stays < 10:
        parser.error("--n must be at least 1 and --stays at least 10")
    if not args.feed.exists():
        parser.error(f"no feed at {args.feed}; give --feed PATH")
    args.warmup = max(50, args.n // 10) if args.warmup is None else args.warmup
    return args


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    info = machine_info()
    total = 5 * (args.n + args.warmup)
    with progress(total, "fees", enabled=not args.json) as bar:
        results = run(args, bar)
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        settings["feed"] = str(args.feed)
        dump_json(
            {
                "benchmark": "fees",
                "machine": info,
                "settings": settings,
                "results": results,
                "ratios": ratios(results),
                "run_seconds": round(time.perf_counter() - started, 1),
            }
        )
    else:
        print_report(results, info, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
