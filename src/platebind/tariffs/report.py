"""How much of a feed's tariff texts the parser reads: coverage per tariff class and the
phrases it could not read, most common first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from platebind.plates import TariffClass
from platebind.tariffs.feed import read_lot_tariffs
from platebind.tariffs.payex import CLASSES, PayexReading, Status


@dataclass
class ClassCoverage:
    counts: Counter[Status] = field(default_factory=Counter)
    # Full readings where FareInfo gives other prices (the text's reading stands).
    conflicts: int = 0

    @property
    def stated(self) -> int:
        """Lots whose text states a fare for the class (every status but absent)."""
        return sum(n for status, n in self.counts.items() if status is not Status.ABSENT)

    @property
    def full_share(self) -> float:
        return self.counts[Status.FULL] / self.stated if self.stated else 0.0

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {status.value: self.counts[status] for status in Status}
        doc |= {
            "stated": self.stated,
            "full_share": round(self.full_share, 4),
            "full_with_fare_info_conflict": self.conflicts,
        }
        return doc


@dataclass
class Coverage:
    lots: int = 0
    classes: dict[TariffClass, ClassCoverage] = field(
        default_factory=lambda: {c: ClassCoverage() for c in CLASSES}
    )
    # Phrase -> the number of lots whose text has it unread (for any class).
    unread: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)

    def add(self, reading: PayexReading) -> None:
        self.lots += 1
        unread: set[str] = set()
        problems: set[str] = set()
        for tariff_class in CLASSES:
            result = reading[tariff_class]
            self.classes[tariff_class].counts[result.status] += 1
            if result.status is Status.FULL and result.conflicts:
                self.classes[tariff_class].conflicts += 1
            unread.update(result.unread)
            problems.update(result.problems)
        self.unread.update(unread)
        self.problems.update(problems)

    def as_dict(self, top: int = 20) -> dict[str, Any]:
        return {
            "lots": self.lots,
            "classes": {c.value: cov.as_dict() for c, cov in self.classes.items()},
            "top_unread": [{"phrase": p, "lots": n} for p, n in self.unread.most_common(top)],
            "top_problems": [{"problem": p, "lots": n} for p, n in self.problems.most_common(top)],
        }


def _most_common(counts: Counter[str], top: int) -> list[tuple[str, int]]:
    """Most lots first; ties in the order of the phrases, so every run prints the same."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


def coverage(
    lots: Iterable[Mapping[str, Any]], on_lot: Callable[[], object] | None = None
) -> Coverage:
    """Read every lot's tariff text (with its FareInfo and capacities) and count."""
    result = Coverage()
    for lot in lots:
        result.add(read_lot_tariffs(lot))
        if on_lot is not None:
            on_lot()
    return result
