"""Registry extracts for tests: valid national IDs (with their check digit) and CSV bytes."""

from __future__ import annotations

import io
import secrets

from pydantic import SecretStr

from platebind.plates import validate_national_id

HEADER = "vehicle_type,plate,owner_id"
KEY = "k" + secrets.token_hex(20)  # a random test key, 41 characters
OTHER_KEY = "o" + secrets.token_hex(20)
SECRET_KEY = SecretStr(KEY)

_LETTER_VALUES = {"A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1)


def national_id(serial: int, letter: str = "A", second: str = "1") -> str:
    """A valid ID: ``letter``, ``second`` (1/2 citizen, 8/9 resident), 7 serial digits, check."""
    body = f"{second}{serial:07d}"
    n = _LETTER_VALUES[letter]
    total = n // 10 + (n % 10) * 9 + sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    value = f"{letter}{body}{(10 - total % 10) % 10}"
    return validate_national_id(value)


ALICE = national_id(1234567)
BOB = national_id(7654321, "B", "2")
CAROL = national_id(1, "C", "8")


def extract(*rows: str, header: str = HEADER, bom: bool = False) -> io.BytesIO:
    text = "\n".join([header, *rows]) + "\n"
    return io.BytesIO(("\ufeff" if bom else "").encode() + text.encode())
