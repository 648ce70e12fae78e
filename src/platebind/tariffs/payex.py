"""Reading Taipei's tariff texts (``payex``) into tariffs, per tariff class, never guessing.

:func:`read_payex` returns, for each of car, motorcycle and heavy motorcycle, a
:class:`ClassReading` with a status:

- ``full``: every phrase about this class was read; ``tariff`` is the tariff;
- ``partial``: some was read (``draft``, the partial tariff as JSON), some not: ``unread`` holds
  the exact phrases, ``problems`` what is missing or contradictory (no price for Sundays, no
  billing unit, the structured ``FareInfo`` disagreeing with the text, …);
- ``unread``: the text says something about this class, and nothing of it could be read;
- ``absent``: the text states no per-stay fare for this class (monthly passes are not one).

``conflicts`` lists where FareInfo disagrees with the text; the text's reading stands.

A text that names no vehicle class prices the ``unlabeled`` classes — the car, as everywhere in
the Taipei feed, where motorcycles are always named when they pay; a lot with only motorcycle
spaces passes ``{motorcycle}``. ``FareInfo`` (the feed's structured fares, both shapes) fills in
prices the text does not give and is cross-checked against those it does
(:mod:`platebind.tariffs.fareinfo`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from platebind.plates import TariffClass
from platebind.tariffs.errors import NoFare, TariffUnreadable
from platebind.tariffs.fareinfo import apply_fare_info
from platebind.tariffs.model import Tariff, tariff_to_json
from platebind.tariffs.payex_build import build_tariff
from platebind.tariffs.payex_draft import ClassDraft, Target
from platebind.tariffs.payex_reader import read_text

CLASSES: tuple[TariffClass, ...] = tuple(TariffClass)


class Status(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    UNREAD = "unread"
    ABSENT = "absent"


@dataclass(frozen=True)
class ClassReading:
    tariff_class: TariffClass
    status: Status
    tariff: Tariff | None = None
    draft: dict[str, Any] | None = None
    unread: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "tariff": None if self.tariff is None else tariff_to_json(self.tariff),
            "draft": self.draft,
            "unread": list(self.unread),
            "problems": list(self.problems),
            "conflicts": list(self.conflicts),
        }


@dataclass(frozen=True)
class PayexReading:
    text: str
    classes: dict[TariffClass, ClassReading] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()

    def __getitem__(self, tariff_class: TariffClass) -> ClassReading:
        return self.classes[tariff_class]

    def tariff_for(self, tariff_class: TariffClass) -> Tariff:
        """The full tariff of a class; a refusal naming what could not be read otherwise."""
        reading = self.classes[tariff_class]
        if reading.tariff is not None:
            return reading.tariff
        kind = tariff_class.value.replace("_", " ")
        if reading.status is Status.ABSENT:
            raise NoFare(f"the text states no fare for a {kind}", text=self.text)
        reasons = [f"could not read {p!r}" for p in reading.unread] + list(reading.problems)
        raise TariffUnreadable(
            f"the {kind} tariff is {reading.status.value}: {'; '.join(reasons)}",
            status=reading.status.value,
            unread=list(reading.unread),
            problems=list(reading.problems),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "classes": {c.value: r.as_dict() for c, r in self.classes.items()},
            "ignored": list(self.ignored),
        }


def _reading(tariff_class: TariffClass, draft: ClassDraft) -> ClassReading:
    if draft.is_empty:
        return ClassReading(tariff_class, Status.ABSENT)
    tariff, problems = build_tariff(tariff_class, draft)
    unread = tuple(dict.fromkeys(draft.unread))
    problems_t = tuple(dict.fromkeys(problems))
    conflicts = tuple(dict.fromkeys(draft.conflicts))
    if tariff is not None and not unread:
        return ClassReading(tariff_class, Status.FULL, tariff=tariff, conflicts=conflicts)
    read_something = draft.has_fare or bool(draft.billing or draft.grace or draft.caps)
    status = Status.PARTIAL if read_something else Status.UNREAD
    draft_doc = draft.as_dict() if read_something else None
    return ClassReading(tariff_class, status, None, draft_doc, unread, problems_t, conflicts)


def read_payex(
    text: str,
    fare_info: Mapping[str, Any] | None = None,
    *,
    unlabeled: Iterable[TariffClass] = (TariffClass.CAR,),
) -> PayexReading:
    """The tariffs a text states, per tariff class (see the module's statuses)."""
    targets: frozenset[Target] = frozenset(c.value for c in unlabeled)
    drafts, ignored = read_text(text, targets)
    if fare_info:
        apply_fare_info(drafts, fare_info)
    classes = {c: _reading(c, drafts[c.value]) for c in CLASSES}
    return PayexReading(text, classes, tuple(dict.fromkeys(ignored)))
