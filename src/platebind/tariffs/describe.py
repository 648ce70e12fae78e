"""Tariffs in a few lines of plain English, for the CLI and for reviewing the parser's work."""

from __future__ import annotations

from platebind.tariffs.days import describe_days, describe_span, format_clock
from platebind.tariffs.model import Hourly, PerEntry, Tariff


def _hourly(hourly: Hourly) -> list[str]:
    lines = []
    for rate in hourly.rates:
        bands = ", ".join(f"{describe_span(b.start, b.end)} {b.per_hour}/h" for b in rate.bands)
        lines.append(f"{describe_days(rate.days)}: {bands}")
    billing = hourly.billing
    unit = f"every started {billing.unit_minutes} min"
    if billing.first_unit_minutes != billing.unit_minutes:
        unit = f"first {billing.first_unit_minutes} min in full, then {unit}"
    across = "each band on its own" if billing.across_bands == "split" else "units run on"
    lines.append(f"billed {unit}; {across}")
    return lines


def _per_entry(per_entry: PerEntry) -> list[str]:
    prices = ", ".join(f"{describe_days(r.days)} {r.price}" for r in per_entry.rates)
    if per_entry.day_boundary is None:
        return [f"per entry: {prices}, once per stay"]
    return [f"per entry: {prices}, again from {format_clock(per_entry.day_boundary)} each day"]


def describe_tariff(tariff: Tariff) -> list[str]:
    lines: list[str] = []
    if tariff.free:
        lines.append("free parking")
    if tariff.hourly is not None:
        lines += _hourly(tariff.hourly)
    if tariff.per_entry is not None:
        lines += _per_entry(tariff.per_entry)
    if tariff.grace is not None:
        bound = "at most" if tariff.grace.inclusive else "under"
        lines.append(f"free for a stay of {bound} {tariff.grace.minutes} min")
    for cap in tariff.caps:
        lines.append(
            f"at most {cap.amount} a day ({describe_days(cap.days)}, "
            f"days from {format_clock(cap.resets_at)})"
        )
    return lines
