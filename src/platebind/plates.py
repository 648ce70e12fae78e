"""Taiwanese licence plates and national ID numbers: normalisation and validation.

Accepted plate formats (canonical form always has exactly one hyphen between the groups):

* car: ``ABC-1234`` (3 letters + 4 digits, new series since 2012, letters never I or O),
  ``AB-1234`` and ``1234-AB`` (older series, any letter A-Z).
* motorcycle and heavy_motorcycle: ``ABC-1234`` (new series, no I or O), ``ABC-123`` and
  ``123-ABC`` (older 3 + 3 series, any letter A-Z).
* In every format the digit group may not be all zeros (``ABC-0000`` is never issued).

Deliberately *not* accepted: the mixed letter/digit groups of some older and special series
(``A1-1234``, ``1A-1234``, ``1234-A1``), diplomatic/military/temporary plates and 2 + 3 digit
legacy forms. Their exact grammar is not pinned down well enough here to validate them without
also accepting typos; add a ``_PlateFormat`` to ``_FORMATS`` if they are needed.

The plate *identity* only distinguishes car and motorcycle (``VehicleType``); the fee engine
additionally knows heavy motorcycles (``TariffClass``), which bind and validate as motorcycles.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

__all__ = [
    "InvalidNationalId",
    "InvalidPlate",
    "TariffClass",
    "VehicleType",
    "binding_type",
    "canonical_plate",
    "normalise_plate",
    "plate_formats",
    "validate_national_id",
]


class VehicleType(StrEnum):
    """Identity of a plate: the same characters may exist once as a car and once as a motorcycle."""

    CAR = "car"
    MOTORCYCLE = "motorcycle"


class TariffClass(StrEnum):
    """What the fee engine charges; ``HEAVY_MOTORCYCLE`` binds as ``VehicleType.MOTORCYCLE``."""

    CAR = "car"
    MOTORCYCLE = "motorcycle"
    HEAVY_MOTORCYCLE = "heavy_motorcycle"


class InvalidPlate(ValueError):
    """A plate that does not match any accepted format for its vehicle type."""

    code: ClassVar[str] = "invalid_plate"

    def __init__(
        self,
        plate_input: str,
        vehicle_type: str,
        accepted: tuple[str, ...],
        reason: str | None = None,
    ) -> None:
        # json.dumps quotes and escapes control characters, so hostile input cannot forge log lines.
        shown = json.dumps(plate_input, ensure_ascii=False)
        kind = vehicle_type.replace("_", " ")
        because = f" ({reason})" if reason else ""
        super().__init__(
            f"{shown} is not a valid {kind} plate{because}; accepted formats: {', '.join(accepted)}"
        )
        self.plate_input = plate_input
        self.vehicle_type = vehicle_type
        self.accepted = accepted
        self.reason = reason


class InvalidNationalId(ValueError):
    """A national ID / resident certificate number that fails length, format or check digit."""

    code: ClassVar[str] = "invalid_national_id"

    def __init__(self, reason: str) -> None:
        # The number itself is personal data, so it is never echoed into the message.
        super().__init__(f"invalid national ID: {reason}")
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Vehicle types


def _tariff_class(vehicle_type: str) -> TariffClass:
    try:
        return TariffClass(vehicle_type)
    except ValueError:
        accepted = ", ".join(t.value for t in TariffClass)
        raise ValueError(
            f"unknown vehicle type {vehicle_type!r}; accepted values: {accepted}"
        ) from None


def binding_type(vehicle_type: str) -> VehicleType:
    """Map a tariff vehicle type to the plate identity it binds as."""
    tariff = _tariff_class(vehicle_type)
    if tariff is TariffClass.CAR:
        return VehicleType.CAR
    return VehicleType.MOTORCYCLE


# ---------------------------------------------------------------------------------------------
# Plate normalisation

# Characters people type (or IMEs produce) between the two groups. Everything of Unicode category
# "Pd" (dash punctuation) counts too; the extras are look-alikes from other categories.
_SEPARATOR_EXTRAS = frozenset("_.\u2212\u30fc\u2500\u2501")
_HYPHENS = re.compile("-{2,}")
_GLUED = re.compile(r"[A-Z]+[0-9]+|[0-9]+[A-Z]+")
_BOUNDARY = re.compile(r"(?<=[A-Z])(?=[0-9])|(?<=[0-9])(?=[A-Z])")
# NFKC and upper() can each undo the other's work on a few exotic characters (e.g. "ΐ".upper()
# yields a decomposed sequence), so they are repeated to a fixed point; two rounds suffice in
# practice, the bound only guards against a pathological cycle.
_MAX_FOLD_ROUNDS = 4


def _is_separator(ch: str) -> bool:
    return ch.isspace() or ch in _SEPARATOR_EXTRAS or unicodedata.category(ch) == "Pd"


def _fold(text: str) -> str:
    # Invisible format characters (zero-width space, BOM, soft hyphen) come along with copy and
    # paste; they are dropped before NFKC so that any composition they blocked happens now and
    # not on a second normalisation.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    for _ in range(_MAX_FOLD_ROUNDS):
        folded = unicodedata.normalize("NFKC", text).upper()
        if folded == text:
            break
        text = folded
    return text


def normalise_plate(raw: str) -> str:
    """Normalise plate text without validating it; idempotent.

    NFKC (full-width to ASCII), upper case, whitespace and dash look-alikes become a single
    hyphen, leading/trailing separators are removed, and a missing hyphen is inserted when the
    text is exactly one run of ASCII letters and one run of ASCII digits (``abc1234`` ->
    ``ABC-1234``).
    """
    text = "".join("-" if _is_separator(ch) else ch for ch in _fold(raw))
    text = _HYPHENS.sub("-", text).strip("-")
    if _GLUED.fullmatch(text):
        text = _BOUNDARY.sub("-", text, count=1)
    return text


# ---------------------------------------------------------------------------------------------
# Plate validation


@dataclass(frozen=True, slots=True)
class _PlateFormat:
    label: str
    pattern: re.Pattern[str]


# Explicit [0-9] / [A-Z] classes: \d would also accept other scripts' digits.
_NEW_LETTERS = "[A-HJ-NP-Z]"
_CAR_NEW = _PlateFormat(
    "ABC-1234 (3 letters + 4 digits, since 2012, no I or O)",
    re.compile(f"{_NEW_LETTERS}{{3}}-[0-9]{{4}}"),
)
_MOTO_NEW = _PlateFormat(
    "ABC-1234 (3 letters + 4 digits, new series, no I or O)",
    re.compile(f"{_NEW_LETTERS}{{3}}-[0-9]{{4}}"),
)
_CAR_FORMATS = (
    _CAR_NEW,
    _PlateFormat("AB-1234 (2 letters + 4 digits, older series)", re.compile("[A-Z]{2}-[0-9]{4}")),
    _PlateFormat("1234-AB (4 digits + 2 letters, older series)", re.compile("[0-9]{4}-[A-Z]{2}")),
)
_MOTORCYCLE_FORMATS = (
    _MOTO_NEW,
    _PlateFormat("ABC-123 (3 letters + 3 digits, older series)", re.compile("[A-Z]{3}-[0-9]{3}")),
    _PlateFormat("123-ABC (3 digits + 3 letters, older series)", re.compile("[0-9]{3}-[A-Z]{3}")),
)
_FORMATS: dict[TariffClass, tuple[_PlateFormat, ...]] = {
    TariffClass.CAR: _CAR_FORMATS,
    TariffClass.MOTORCYCLE: _MOTORCYCLE_FORMATS,
    TariffClass.HEAVY_MOTORCYCLE: _MOTORCYCLE_FORMATS,
}
_SEVEN_CHAR_SHAPE = re.compile("[A-Z]{3}-[0-9]{4}")
_ALL_ZEROS = re.compile("0+")


def plate_formats(vehicle_type: str) -> tuple[str, ...]:
    """Human-readable accepted formats for ``vehicle_type`` (car, motorcycle, heavy_motorcycle)."""
    return tuple(f.label for f in _FORMATS[_tariff_class(vehicle_type)])


def _has_zero_number(plate: str) -> bool:
    return any(_ALL_ZEROS.fullmatch(group) for group in plate.split("-"))


def _rejection_reason(plate: str) -> str | None:
    # Only the two mistakes that look right against the format list get an explanation.
    if _has_zero_number(plate):
        return "the number may not be all zeros"
    if _SEVEN_CHAR_SHAPE.fullmatch(plate) and ("I" in plate or "O" in plate):
        return "the 3-letter + 4-digit series never uses the letters I or O"
    return None


def canonical_plate(raw: str, vehicle_type: str) -> str:
    """Return the canonical ``ABC-1234`` form of ``raw`` or raise ``InvalidPlate``.

    ``vehicle_type`` is car, motorcycle or heavy_motorcycle (validated like motorcycle); an
    unknown vehicle type raises a plain ``ValueError``, not ``InvalidPlate``.
    """
    tariff = _tariff_class(vehicle_type)
    formats = _FORMATS[tariff]
    plate = normalise_plate(raw)
    if not _has_zero_number(plate) and any(f.pattern.fullmatch(plate) for f in formats):
        return plate
    accepted = tuple(f.label for f in formats)
    raise InvalidPlate(raw, tariff.value, accepted, _rejection_reason(plate))


# ---------------------------------------------------------------------------------------------
# National ID (身分證統一編號) and new-style resident certificate number (新式統一證號)

_LETTER_VALUES: dict[str, int] = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34,
    "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25,
    "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30, "Y": 31, "Z": 33,
}  # fmt: skip
_DIGIT_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1, 1)  # d1..d8 and the check digit
_ID_LENGTH = 10
_SECOND_CHARS = "1289"  # 1/2: citizen (male/female); 8/9: resident certificate since 2021
_ASCII_LETTER = re.compile("[A-Z]")
_ASCII_DIGITS = re.compile("[0-9]+")


def _check_digit_ok(value: str) -> bool:
    n = _LETTER_VALUES[value[0]]
    total = n // 10 + (n % 10) * 9
    total += sum(int(d) * w for d, w in zip(value[1:], _DIGIT_WEIGHTS, strict=True))
    return total % 10 == 0


def _national_id_problem(value: str) -> str | None:
    if len(value) != _ID_LENGTH:
        return f"must be exactly 10 characters (1 letter + 9 digits), got {len(value)}"
    if not _ASCII_LETTER.fullmatch(value[0]):
        return "the first character must be a letter A-Z"
    if _ASCII_LETTER.fullmatch(value[1]):
        return (
            "old-style resident certificate numbers (two letters) are not accepted; "
            "use the new-style number (letter + 8 or 9 + 8 digits)"
        )
    if value[1] not in _SECOND_CHARS:
        return "the second character must be 1 or 2 (national ID) or 8 or 9 (resident certificate)"
    if not _ASCII_DIGITS.fullmatch(value[1:]):
        return "characters 2-10 must be digits 0-9"
    if not _check_digit_ok(value):
        return "check digit does not match (mistyped number?)"
    return None


def validate_national_id(raw: str) -> str:
    """Return the canonical (NFKC, stripped, upper-case) ID or raise ``InvalidNationalId``.

    Accepts citizen IDs (letter + 1/2 + 8 digits) and new-style resident certificate numbers
    (letter + 8/9 + 8 digits, issued since 2021; same check digit). Old-style resident numbers
    with two leading letters are rejected with an explicit message: they are being phased out
    and their second-letter encoding differs, so we do not validate them.
    """
    value = unicodedata.normalize("NFKC", raw).strip().upper()
    problem = _national_id_problem(value)
    if problem is not None:
        raise InvalidNationalId(problem)
    return value
