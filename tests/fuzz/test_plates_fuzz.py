"""Fuzzing the plate parser and the national-ID check: any text in, a typed answer or the
module's own refusal out (``InvalidPlate``, ``InvalidNationalId``), in bounded time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platebind import plates
from platebind.plates import InvalidNationalId, InvalidPlate
from tests.fuzz.common import ANY_CHAR, ANY_TEXT, FUZZ, answer, bounded, repeated, spliced

VEHICLE_TYPES = [t.value for t in plates.TariffClass]
# What people and cameras type around a plate: letters, digits, every kind of dash and space,
# full-width forms, invisible format characters, combining marks.
_PLATE_PIECES = st.one_of(
    st.sampled_from(
        [
            "ABC",
            "abc",
            "1234",
            "-",
            " ",
            "\u3000",
            "\u2212",
            "\u30fc",
            "_",
            ".",
            "--",
            "\u200b",
            "\ufeff",
            "\u00ad",
            "\uff21\uff22\uff23",
            "\uff11\uff12",
            "I",
            "O",
            "0000",
            "\u0301",
            "\u0390",
            "\u1e9e",
            "\ufb03",
            "\u2460",
            "\u00bd",
        ]
    ),  # fmt: skip
    st.from_regex(r"[A-Za-z]{1,4}[-\s]?[0-9]{1,5}", fullmatch=True),
)
PLATE_TEXT = st.one_of(ANY_TEXT, spliced(_PLATE_PIECES), repeated(_PLATE_PIECES, 3000))


@given(raw=PLATE_TEXT, vehicle_type=st.sampled_from(VEHICLE_TYPES))
@FUZZ
def test_canonical_plate_answers_a_plate_or_invalid_plate(raw: str, vehicle_type: str) -> None:
    with bounded():
        plate = answer(lambda: plates.canonical_plate(raw, vehicle_type), InvalidPlate)
    if isinstance(plate, Exception):
        assert "\n" not in str(plate)  # the input is quoted, never raw in a log line
        return
    assert plate.isascii()
    assert plate.count("-") == 1
    assert plates.canonical_plate(plate, vehicle_type) == plate


@given(raw=PLATE_TEXT)
@FUZZ
def test_normalise_plate_is_idempotent(raw: str) -> None:
    with bounded():
        once = plates.normalise_plate(raw)
        assert plates.normalise_plate(once) == once


@given(vehicle_type=ANY_TEXT)
@FUZZ
def test_an_unknown_vehicle_type_is_a_value_error(vehicle_type: str) -> None:
    if vehicle_type in VEHICLE_TYPES:
        return
    with pytest.raises(ValueError, match="unknown vehicle type") as refused:
        plates.canonical_plate("ABC-1234", vehicle_type)
    assert not isinstance(refused.value, InvalidPlate)


# National IDs: a letter, 1/2/8/9, seven digits and the check digit; around them the text
# people paste (full-width digits, spaces, lower case).
_ID_PIECES = st.one_of(
    st.from_regex(r"[A-Za-z][1289][0-9]{8}", fullmatch=True),
    st.sampled_from(["A", "a", "\uff21", "1", "\uff11", " ", "\u3000", "AB", "\u0130", "\u00df"]),
)
ID_TEXT = st.one_of(
    ANY_TEXT, spliced(_ID_PIECES, 6), repeated(_ID_PIECES, 3000), st.text(ANY_CHAR, max_size=12)
)


@given(raw=ID_TEXT)
@FUZZ
def test_validate_national_id_answers_an_id_or_invalid_national_id(raw: str) -> None:
    with bounded():
        value = answer(lambda: plates.validate_national_id(raw), InvalidNationalId)
    if isinstance(value, Exception):
        shown = raw.strip()
        assert len(shown) < 3 or shown not in str(value)  # personal data is never echoed
        return
    assert len(value) == 10
    assert value.isascii()
    assert plates.validate_national_id(value) == value


def _with_check_digit(first: str, body: str) -> str:
    """The one check digit that makes ``first + body + digit`` valid."""
    for digit in "0123456789":
        candidate = first + body + digit
        try:
            return plates.validate_national_id(candidate)
        except InvalidNationalId:
            continue
    raise AssertionError(f"no check digit completes {first}{body}")


@given(
    first=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    body=st.from_regex(r"[1289][0-9]{7}", fullmatch=True),
    wrong=st.integers(1, 9),
)
@FUZZ
def test_exactly_one_check_digit_completes_an_id(first: str, body: str, wrong: int) -> None:
    valid = _with_check_digit(first, body)
    altered = valid[:-1] + str((int(valid[-1]) + wrong) % 10)
    with pytest.raises(InvalidNationalId, match="check digit"):
        plates.validate_national_id(altered)
