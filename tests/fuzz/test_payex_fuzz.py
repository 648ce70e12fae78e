"""Fuzzing the payex reader (Taipei's free-text tariffs): any text and any FareInfo in, a
reading per tariff class out — never an exception, in bounded time — and every tariff it reads
in full prices any stay."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platebind.plates import TariffClass
from platebind.tariffs.engine import compute_fee
from platebind.tariffs.errors import NoFare, TariffUnreadable
from platebind.tariffs.feed import read_lot_tariffs
from platebind.tariffs.payex import PayexReading, Status, read_payex
from tests.fuzz.common import (
    ANY_TEXT,
    FUZZ,
    LONG_RUN,
    answer,
    bounded,
    repeated,
    spliced,
    taipei_lots,
)

REAL_TEXTS = sorted({str(lot.get("payex") or "") for lot in taipei_lots()})
# The real texts cut at their clause separators and into short runs: pieces that the lexer's
# patterns nearly match, glued in orders no city clerk would write.
_CLAUSES = sorted({p for t in REAL_TEXTS for p in re.split(r"(?<=[，、,;；。])", t) if p})
_WORDS = sorted({t[i : i + n] for t in REAL_TEXTS[:200] for n in (1, 2, 3) for i in range(len(t))})
# What the token patterns repeat (\s*, \d+, (?:…)*): long runs of these hunt backtracking.
_RUNS = st.sampled_from(
    [" ", "\u3000", "1", "0", ",", "，", "、", "(", ")", "（", "停車", "未滿", "分鐘", "週一", "至",
     "翌日", "元", "/時", "計時:", "小型車", "機車", "免費", "最高", "1,000", "30元/時", "(08-22)"]
)  # fmt: skip
PAYEX_TEXT = st.one_of(
    st.sampled_from(REAL_TEXTS),
    ANY_TEXT,
    spliced(st.one_of(st.sampled_from(_CLAUSES), st.sampled_from(_WORDS), _RUNS)),
    st.builds(lambda a, b, run: a + run + b, st.sampled_from(REAL_TEXTS),
              st.sampled_from(REAL_TEXTS), repeated(_RUNS, 600)),
)  # fmt: skip
UNLABELED = st.sampled_from([(TariffClass.CAR,), (TariffClass.MOTORCYCLE,), tuple(TariffClass)])

# FareInfo as the feed has it (both shapes), with values of every JSON type.
_JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    ANY_TEXT.map(lambda t: t[:12]),
    st.sampled_from(["30", "0800", "2200", "09~18", "-1", "1e999", "NaN", "C", "CM", "HM", "1"]),
)
_KEYS = ANY_TEXT.map(lambda t: t[:8])
_JSON = st.recursive(
    _JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)
_RULE_KEYS = ("ParkingType", "RateType", "ChargeableSTime", "ChargeableETime", "ParkingRates")
_RULE = st.fixed_dictionaries({}, optional=dict.fromkeys((*_RULE_KEYS, "CUnit"), _JSON))
_PERIOD = st.fixed_dictionaries({}, optional={"Period": _JSON, "Fare": _JSON})
FARE_INFO = st.one_of(
    st.sampled_from([lot["FareInfo"] for lot in taipei_lots() if lot.get("FareInfo")]),
    st.fixed_dictionaries({}, optional={"WorkingDay": st.lists(_PERIOD), "Holiday": _JSON}),
    st.fixed_dictionaries({"FareRule": st.one_of(_JSON, st.lists(_RULE, max_size=4))}),
    st.dictionaries(_KEYS, _JSON, max_size=3),
)
ENTERED = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Taipei


def _check_reading(reading: PayexReading, stay_minutes: int) -> None:
    assert set(reading.classes) == set(TariffClass)
    json.dumps(reading.as_dict())  # stored as JSON with the lot
    for tariff_class, one in reading.classes.items():
        assert one.status in Status
        assert (one.status is Status.FULL) == (one.tariff is not None)
        tariff = answer(partial(reading.tariff_for, tariff_class), NoFare, TariffUnreadable)
        if isinstance(tariff, Exception):
            continue
        exited = ENTERED + timedelta(minutes=stay_minutes)
        fee = compute_fee(tariff, tariff_class, ENTERED, exited)
        assert fee.amount >= 0


@given(text=PAYEX_TEXT, unlabeled=UNLABELED, stay=st.integers(0, 4 * 24 * 60))
@FUZZ
def test_read_payex_reads_any_text_in_bounded_time(
    text: str, unlabeled: tuple[TariffClass, ...], stay: int
) -> None:
    with bounded():
        reading = read_payex(text, unlabeled=unlabeled)
    assert reading.text == text
    _check_reading(reading, stay)


@given(text=PAYEX_TEXT, fare_info=FARE_INFO, stay=st.integers(0, 4 * 24 * 60))
@FUZZ
def test_read_payex_takes_any_fare_info(text: str, fare_info: dict[str, Any], stay: int) -> None:
    with bounded():
        reading = read_payex(text, fare_info)
    _check_reading(reading, stay)


_LOT_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "payex": st.one_of(PAYEX_TEXT, _JSON),
        "FareInfo": st.one_of(FARE_INFO, _JSON),
        "totalcar": _JSON,
        "totalmotor": _JSON,
    },
)


@given(lot=st.one_of(_LOT_FIELDS, st.sampled_from(taipei_lots())))
@FUZZ
def test_a_lot_of_the_feed_reads_whatever_its_fields_hold(lot: dict[str, Any]) -> None:
    with bounded():
        reading = read_lot_tariffs(lot)
    _check_reading(reading, 95)


# Superlinear cost shows in how time grows with size, not in one input: a pattern searched
# from every position of a long run (``re.search`` with a leading ``\d+``) costs n² and still
# reads 5,000 characters under the bound above. So each run is read at two sizes, and four
# times the text may take at most eight times as long (linear is four, quadratic sixteen).
_SCALED = sorted({c for t in REAL_TEXTS for c in t}) if LONG_RUN else []
SCALING_RUNS = ["1", "0", " ", "(", "，", "、", "週一", "30元/時", "1,000", "停車", *_SCALED]
_BASE = "小型車：計時 150元/時，全程以半小時計。"


def _cpu_to_read(text: str) -> float:
    best = float("inf")
    for _ in range(3):  # the least of three: noise only ever adds time
        started = time.thread_time()
        read_payex(text)
        best = min(best, time.thread_time() - started)
    return best


@pytest.mark.parametrize("run", SCALING_RUNS)
def test_reading_grows_linearly_with_a_long_run(run: str) -> None:
    n = max(1, 2000 // len(run))
    small, large = _cpu_to_read(_BASE + run * n), _cpu_to_read(_BASE + run * 4 * n)
    assert large < 8 * small + 0.01, f"{run!r}: {small:.4f} s, then {large:.4f} s for 4x"
