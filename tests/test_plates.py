"""Tests for platebind.plates: Taiwanese plate normalisation/validation and national IDs."""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from platebind.plates import (
    InvalidNationalId,
    InvalidPlate,
    TariffClass,
    VehicleType,
    binding_type,
    canonical_plate,
    normalise_plate,
    plate_formats,
    validate_national_id,
)

VEHICLE_TYPES = ("car", "motorcycle", "heavy_motorcycle")

# ---------------------------------------------------------------------------------------------
# Plates: table tests


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABC-1234", "ABC-1234"),
        ("ＡＢＣ－１２３４", "ABC-1234"),  # full-width letters, digits and hyphen
        (" abc 1234 ", "ABC-1234"),
        ("abc-1234", "ABC-1234"),
        ("ABC1234", "ABC-1234"),
        ("ABC--1234", "ABC-1234"),
        ("-ABC-1234-", "ABC-1234"),
        ("ABC\u20131234", "ABC-1234"),  # en dash
        ("ABC\u20141234", "ABC-1234"),  # em dash
        ("ABC_1234", "ABC-1234"),
        ("ABC.1234", "ABC-1234"),
        ("ABC - 1234", "ABC-1234"),
        ("ABC\u30001234", "ABC-1234"),  # ideographic space
        ("ABC\u200b1234", "ABC-1234"),  # zero-width space from copy and paste
        ("1234ab", "1234-AB"),
        ("ab1234", "AB-1234"),
        ("", ""),
        ("A1B2", "A1B2"),  # two letter/digit boundaries: no hyphen guessed
    ],
)
def test_normalise_plate(raw: str, expected: str) -> None:
    assert normalise_plate(raw) == expected


CAR_OK = [
    ("ABC-1234", "ABC-1234"),
    ("ＡＢＣ－１２３４", "ABC-1234"),
    (" abc 1234 ", "ABC-1234"),
    ("abc1234", "ABC-1234"),
    ("ABC--1234", "ABC-1234"),
    ("ABC\u20131234", "ABC-1234"),
    ("AB-1234", "AB-1234"),
    ("io-1234", "IO-1234"),  # older series may use any letter
    ("1234-AB", "1234-AB"),
    ("1234ab", "1234-AB"),
    ("ABC-0001", "ABC-0001"),
]
MOTORCYCLE_OK = [
    ("ABC-1234", "ABC-1234"),
    ("ＡＢＣ－１２３４", "ABC-1234"),
    (" abc 1234 ", "ABC-1234"),
    ("ABC-123", "ABC-123"),
    ("abc123", "ABC-123"),
    ("ABI-123", "ABI-123"),  # older series may use any letter
    ("123-ABC", "123-ABC"),
    ("１２３　ａｂｃ", "123-ABC"),
    ("123\u2013abc", "123-ABC"),
]


@pytest.mark.parametrize(("raw", "expected"), CAR_OK)
def test_car_plate_accepted(raw: str, expected: str) -> None:
    assert canonical_plate(raw, "car") == expected


@pytest.mark.parametrize("vehicle_type", ["motorcycle", "heavy_motorcycle"])
@pytest.mark.parametrize(("raw", "expected"), MOTORCYCLE_OK)
def test_motorcycle_plate_accepted(raw: str, expected: str, vehicle_type: str) -> None:
    assert canonical_plate(raw, vehicle_type) == expected


@pytest.mark.parametrize("vehicle_type", VEHICLE_TYPES)
@pytest.mark.parametrize(
    "raw",
    [
        "ABI-1234",
        "ABO-1234",
        "OAB-1234",
        "AB-12",
        "",
        "   ",
        "-",
        "ABC-12345",
        "ABCD-1234",
        "🚗",
        "ABC-🚗",
        "ABC-0000",
        "A1-1234",
        "1234-A1",
        "ABC-١٢٣٤",  # Arabic-Indic digits are digits, but not plate digits
        "ÄBC-1234",
        "AB-12-34",
    ],
)
def test_plate_rejected(raw: str, vehicle_type: str) -> None:
    with pytest.raises(InvalidPlate) as info:
        canonical_plate(raw, vehicle_type)
    assert info.value.code == "invalid_plate"
    assert info.value.plate_input == raw
    assert info.value.vehicle_type == vehicle_type
    assert info.value.accepted == plate_formats(vehicle_type)


@pytest.mark.parametrize("raw", ["ABC-123", "123-ABC", "AB-123", "ABC-0000"])
def test_car_rejects_motorcycle_and_zero_plates(raw: str) -> None:
    with pytest.raises(InvalidPlate):
        canonical_plate(raw, "car")


@pytest.mark.parametrize("raw", ["AB-1234", "1234-AB", "ABC-000", "000-ABC"])
def test_motorcycle_rejects_car_and_zero_plates(raw: str) -> None:
    with pytest.raises(InvalidPlate):
        canonical_plate(raw, "motorcycle")


def test_invalid_plate_message_lists_accepted_formats() -> None:
    with pytest.raises(InvalidPlate) as info:
        canonical_plate("AB-12", "car")
    assert str(info.value) == (
        '"AB-12" is not a valid car plate; accepted formats: '
        "ABC-1234 (3 letters + 4 digits, since 2012, no I or O), "
        "AB-1234 (2 letters + 4 digits, older series), "
        "1234-AB (4 digits + 2 letters, older series)"
    )
    assert isinstance(info.value, ValueError)


def test_invalid_plate_message_explains_i_o_and_zeros() -> None:
    with pytest.raises(InvalidPlate, match=r"never uses the letters I or O\); accepted formats: "):
        canonical_plate("abo1234", "car")
    with pytest.raises(InvalidPlate, match="may not be all zeros"):
        canonical_plate("ABC-0000", "motorcycle")


def test_invalid_plate_message_escapes_control_characters() -> None:
    with pytest.raises(InvalidPlate) as info:
        canonical_plate("AB\n12", "car")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith('"AB\\n12" is not a valid car plate')


def test_heavy_motorcycle_message_names_the_vehicle_type() -> None:
    with pytest.raises(InvalidPlate, match="not a valid heavy motorcycle plate"):
        canonical_plate("AB-1234", "heavy_motorcycle")


def test_same_characters_valid_as_car_and_motorcycle() -> None:
    assert canonical_plate("ABC-1234", "car") == "ABC-1234"
    assert canonical_plate("ABC-1234", "motorcycle") == "ABC-1234"
    assert binding_type("car") != binding_type("motorcycle")


def test_three_plus_three_is_motorcycle_only() -> None:
    assert canonical_plate("ABC-123", "motorcycle") == "ABC-123"
    with pytest.raises(InvalidPlate):
        canonical_plate("ABC-123", "car")


def test_heavy_motorcycle_validates_like_motorcycle() -> None:
    assert plate_formats("heavy_motorcycle") == plate_formats("motorcycle")
    for raw, expected in MOTORCYCLE_OK:
        assert canonical_plate(raw, "heavy_motorcycle") == expected


@pytest.mark.parametrize(
    ("vehicle_type", "expected"),
    [
        ("car", VehicleType.CAR),
        ("motorcycle", VehicleType.MOTORCYCLE),
        ("heavy_motorcycle", VehicleType.MOTORCYCLE),
        (TariffClass.HEAVY_MOTORCYCLE, VehicleType.MOTORCYCLE),
    ],
)
def test_binding_type(vehicle_type: str, expected: VehicleType) -> None:
    assert binding_type(vehicle_type) is expected


@pytest.mark.parametrize("vehicle_type", ["bus", "", "Car", "heavy-motorcycle"])
def test_unknown_vehicle_type_lists_accepted_values(vehicle_type: str) -> None:
    accepted = "accepted values: car, motorcycle, heavy_motorcycle"
    with pytest.raises(ValueError, match=accepted):
        binding_type(vehicle_type)
    with pytest.raises(ValueError, match=accepted) as info:
        canonical_plate("ABC-1234", vehicle_type)
    assert not isinstance(info.value, InvalidPlate)
    with pytest.raises(ValueError, match=accepted):
        plate_formats(vehicle_type)


def test_plate_formats_are_explicit() -> None:
    assert [f.split(" ")[0] for f in plate_formats("car")] == ["ABC-1234", "AB-1234", "1234-AB"]
    assert [f.split(" ")[0] for f in plate_formats("motorcycle")] == [
        "ABC-1234",
        "ABC-123",
        "123-ABC",
    ]


# ---------------------------------------------------------------------------------------------
# Plates: properties

NEW_SERIES_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
ANY_LETTER = string.ascii_uppercase
DIGIT = "D"  # marker: a digit group, never all zeros

# The format grammar, written independently of the implementation's regexes.
GRAMMAR: dict[str, list[list[tuple[str, int]]]] = {
    "car": [
        [(NEW_SERIES_LETTERS, 3), (DIGIT, 4)],
        [(ANY_LETTER, 2), (DIGIT, 4)],
        [(DIGIT, 4), (ANY_LETTER, 2)],
    ],
    "motorcycle": [
        [(NEW_SERIES_LETTERS, 3), (DIGIT, 4)],
        [(ANY_LETTER, 3), (DIGIT, 3)],
        [(DIGIT, 3), (ANY_LETTER, 3)],
    ],
}
GRAMMAR["heavy_motorcycle"] = GRAMMAR["motorcycle"]


def _group(alphabet: str, size: int) -> st.SearchStrategy[str]:
    if alphabet == DIGIT:
        digits = st.text(string.digits, min_size=size, max_size=size)
        return digits.filter(lambda s: s.strip("0") != "")
    return st.text(alphabet, min_size=size, max_size=size)


@st.composite
def valid_plates(draw: st.DrawFn) -> tuple[str, str]:
    vehicle_type = draw(st.sampled_from(VEHICLE_TYPES))
    shape = draw(st.sampled_from(GRAMMAR[vehicle_type]))
    groups = [draw(_group(alphabet, size)) for alphabet, size in shape]
    return vehicle_type, "-".join(groups)


def _full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch


@st.composite
def messed_up(draw: st.DrawFn, plate: str) -> str:
    chars = [c.lower() if draw(st.booleans()) else c for c in plate]
    chars = [_full_width(c) if draw(st.booleans()) else c for c in chars]
    hyphen = draw(st.sampled_from(["", "-", "--", "\u2013", "\uff0d", " ", " - ", "_"]))
    text = "".join(chars).replace("-", hyphen)
    left = draw(st.sampled_from(["", " ", "\t", "\u3000", "  "]))
    right = draw(st.sampled_from(["", " ", "\n", "\u3000"]))
    return left + text + right


@given(st.text())
@example("ΐ")  # upper() decomposes it; NFKC recomposes
@example("ǅ1")
@example("e\u200b\u0301")
def test_normalise_plate_is_idempotent(raw: str) -> None:
    once = normalise_plate(raw)
    assert normalise_plate(once) == once


@given(st.text(alphabet="abcIO0129-－–_. \u3000ａ１"))
def test_normalise_plate_is_idempotent_on_plate_like_text(raw: str) -> None:
    once = normalise_plate(raw)
    assert normalise_plate(once) == once


@given(valid_plates())
def test_valid_plate_round_trips(case: tuple[str, str]) -> None:
    vehicle_type, plate = case
    assert canonical_plate(plate, vehicle_type) == plate
    assert normalise_plate(plate) == plate


@given(st.data())
def test_messed_up_rendering_gives_canonical_plate(data: st.DataObject) -> None:
    vehicle_type, plate = data.draw(valid_plates())
    raw = data.draw(messed_up(plate))
    assert canonical_plate(raw, vehicle_type) == plate


@given(st.text(), st.sampled_from(VEHICLE_TYPES))
@example("ABC-1234", "car")
def test_canonical_plate_only_raises_invalid_plate(raw: str, vehicle_type: str) -> None:
    error: InvalidPlate | None = None
    try:
        plate = canonical_plate(raw, vehicle_type)
    except InvalidPlate as exc:
        error = exc
    if error is not None:
        assert error.code == "invalid_plate"
        assert error.plate_input == raw
        return
    # Whatever is accepted is already canonical.
    assert canonical_plate(plate, vehicle_type) == plate
    assert plate.isascii()


# ---------------------------------------------------------------------------------------------
# National ID

# Letter values 10..35 in the official order: a reference independent of the implementation's
# lookup table.
_LETTER_ORDER = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def reference_checksum_ok(national_id: str) -> bool:
    code = str(_LETTER_ORDER.index(national_id[0]) + 10) + national_id[1:]
    weights = [1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1]
    return sum(int(d) * w for d, w in zip(code, weights, strict=True)) % 10 == 0


def reference_check_digit(first_nine: str) -> str:
    matches = [d for d in string.digits if reference_checksum_ok(first_nine + d)]
    assert len(matches) == 1
    return matches[0]


def test_reference_agrees_with_hand_computation() -> None:
    # A=10 -> 1*1 + 0*9 = 1; 1*8+2*7+3*6+4*5+5*4+6*3+7*2+8*1 = 120; + 9 = 130 -> valid.
    assert reference_checksum_ok("A123456789")
    # Z=33 -> 3 + 27 = 30; 2*8 = 16; check 4 -> total 50.
    assert reference_checksum_ok("Z200000004")
    # A=10 -> 1; 8*8 = 64; check 5 -> total 70.
    assert reference_checksum_ok("A800000005")


@pytest.mark.parametrize(
    "national_id",
    [
        "A123456789",
        "Z200000004",
        "A800000005",  # new-style resident certificate number
        "F13104000" + reference_check_digit("F13104000"),
        "I2" + "9876543" + reference_check_digit("I29876543"),
        "O9" + "0000001" + reference_check_digit("O90000001"),
    ],
)
def test_valid_national_ids(national_id: str) -> None:
    assert reference_checksum_ok(national_id)
    assert validate_national_id(national_id) == national_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a123456789", "A123456789"),
        ("  A123456789\n", "A123456789"),
        ("Ａ１２３４５６７８９", "A123456789"),
        ("a800000005", "A800000005"),
    ],
)
def test_national_id_is_normalised(raw: str, expected: str) -> None:
    assert validate_national_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("A123456788", "check digit"),
        ("A123456780", "check digit"),
        ("A323456789", "second character must be 1 or 2"),
        ("A023456789", "second character must be 1 or 2"),
        ("A12345678", "exactly 10 characters"),
        ("A1234567890", "exactly 10 characters"),
        ("", "exactly 10 characters"),
        ("1123456789", "first character must be a letter"),
        ("AB12345678", "old-style resident certificate"),
        ("A12345678X", "must be digits"),
        ("A1234 6789", "must be digits"),
        ("A12345678٩", "must be digits"),  # Arabic-Indic nine
    ],
)
def test_invalid_national_ids(raw: str, reason: str) -> None:
    with pytest.raises(InvalidNationalId, match=reason) as info:
        validate_national_id(raw)
    assert info.value.code == "invalid_national_id"
    assert isinstance(info.value, ValueError)
    if raw:
        assert raw not in str(info.value)  # personal data stays out of messages and logs


@given(
    st.sampled_from(string.ascii_uppercase),
    st.sampled_from("12"),
    st.text(string.digits, min_size=7, max_size=7),
)
def test_exactly_one_check_digit_validates(letter: str, gender: str, serial: str) -> None:
    valid = []
    for check in string.digits:
        candidate = letter + gender + serial + check
        try:
            validate_national_id(candidate)
        except InvalidNationalId:
            continue
        valid.append(candidate)
    assert len(valid) == 1
    assert reference_checksum_ok(valid[0])


@given(st.text())
def test_validate_national_id_only_raises_invalid_national_id(raw: str) -> None:
    try:
        value = validate_national_id(raw)
    except InvalidNationalId:
        return
    assert reference_checksum_ok(value)
