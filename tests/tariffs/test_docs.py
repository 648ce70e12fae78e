"""The worked examples of docs/tariffs.md are priced as the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from platebind.plates import TariffClass
from platebind.tariffs.engine import compute_fee
from platebind.tariffs.payex import read_payex
from tests.tariffs.helpers import at

PAGE = Path(__file__).resolve().parents[2] / "docs" / "tariffs.md"
_BLOCK = re.compile(r"<!-- fee-examples -->\n(.*?)<!-- /fee-examples -->", re.S)


def examples() -> list[tuple[str, str, str, str, int]]:
    block = _BLOCK.search(PAGE.read_text(encoding="utf-8"))
    assert block is not None, "docs/tariffs.md has no fee-examples block"
    rows = []
    for line in block[1].strip().splitlines()[2:]:  # the header and its rule
        text, kind, entered, exited, fee, _why = (c.strip() for c in line.strip("|").split("|"))
        rows.append((text, kind, entered, exited, int(fee)))
    return rows


@pytest.mark.parametrize(("text", "kind", "entered", "exited", "fee"), examples())
def test_a_worked_example_of_the_docs(
    text: str, kind: str, entered: str, exited: str, fee: int
) -> None:
    tariff_class = TariffClass(kind)
    tariff = read_payex(text, unlabeled=(tariff_class,)).tariff_for(tariff_class)
    assert compute_fee(tariff, tariff_class, at(entered), at(exited)).amount == fee


def test_the_docs_have_a_dozen_examples() -> None:
    assert len(examples()) >= 10
