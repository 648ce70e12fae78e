# ruff: noqa: E501 (real texts are quoted verbatim)
"""Reading real tariff texts: what is read, what is reported unread, and never a guess."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platebind.tariffs.days import DAYS_OFF, WEEKDAYS, DayKind
from platebind.tariffs.describe import describe_tariff
from platebind.tariffs.errors import NoFare, TariffUnreadable
from platebind.tariffs.payex import Status, read_payex
from tests.tariffs.helpers import CAR, HEAVY, MOTORCYCLE


def lines(text: str, tariff_class: Any = CAR, **kwargs: Any) -> list[str]:
    return describe_tariff(read_payex(text, **kwargs).tariff_for(tariff_class))


def test_the_commonest_phrasing_first_hour_then_half_hours() -> None:
    reading = read_payex(
        "計時：100元/時，停車未滿1小時以1小時計，逾1小時以上者，未滿半小時以半小時計。月租：10,000元/月。"
    )
    tariff = reading.tariff_for(CAR)
    assert tariff.hourly is not None
    assert (tariff.hourly.billing.first_unit_minutes, tariff.hourly.billing.unit_minutes) == (
        60,
        30,
    )
    assert [b.per_hour for b in tariff.hourly.rates[0].bands] == [Decimal(100)]
    assert (reading[MOTORCYCLE].status, reading[HEAVY].status) == (Status.ABSENT, Status.ABSENT)


def test_weekday_and_weekend_bands_with_heavy_motorcycles_priced_as_cars() -> None:
    text = "小型車(含大型重型機車)：計時 週一~週五20元/時(08時~22時)，10元/時(22時~08時)，週六、週日、行政機關放假之紀念日與民俗日20元/時(08時~10時)，30元/時(10時~22時)，10元/時(22時~08時)，停車全程以半小時計；月租 全日4,000元，日間2,400元(07時~20時)，夜間900元(20時~07時)。機車：20元/次，隔日另計；月租300元/月。"
    expected = [
        "mon–fri: 00:00–08:00 10/h, 08:00–22:00 20/h, 22:00–24:00 10/h",
        "sat, sun, holiday: 00:00–08:00 10/h, 08:00–10:00 20/h, 10:00–22:00 30/h, 22:00–24:00 10/h",
        "billed every started 30 min; each band on its own",
    ]
    assert sorted(lines(text)) == sorted(expected)
    assert sorted(lines(text, HEAVY)) == sorted(expected)
    assert lines(text, MOTORCYCLE) == ["per entry: mon–sun, holiday 20, again from 00:00 each day"]


@pytest.mark.parametrize(
    ("text", "tariff_class", "expected"),
    [
        (
            "計時:小型車30元(0700-2130)、10元(2130-0700)；停放於充電格位之車輛，加收10元/時，依設備自動判斷未充電者再加收10元/時（未充電者合計加收20元/時），全程半小時計。月租：小型車全日5,000元。機車暫不收費。",
            CAR,
            [
                "mon–sun, holiday: 00:00–07:00 10/h, 07:00–21:30 30/h, 21:30–24:00 10/h",
                "billed every started 30 min; each band on its own",
            ],
        ),
        (
            "計時:小型車30元(0700-2130)、10元(2130-0700)。機車暫不收費。",
            MOTORCYCLE,
            ["free parking"],
        ),
        (
            "計時：小型車、機車20元/時，全程以半小時計費。月租：3,000元/月。",
            MOTORCYCLE,
            [
                "mon–sun, holiday: 00:00–24:00 20/h",
                "billed every started 30 min; each band on its own",
            ],
        ),
        (
            "計時：大型車40元/時，小型車120元/時，機車30元/時，全程以半小時計。月租：大型車19,200元/月，小型車12,000元/月，機車1,000元/月。",
            CAR,
            [
                "mon–sun, holiday: 00:00–24:00 120/h",
                "billed every started 30 min; each band on its own",
            ],
        ),
        (
            "機車：10元/時，當日當次停車最高收費上限30元/次，隔日另計，以3時為基準，全程以半小時計。",
            MOTORCYCLE,
            [
                "mon–sun, holiday: 00:00–24:00 10/h",
                "billed every started 30 min; each band on its own",
                "at most 30 a day (mon–sun, holiday, days from 03:00)",
            ],
        ),
        (
            "計時:周一至周五30元/時，周六日與行政機關放假之紀念日、民俗節日40元/時，全程以半小時計費。月租:全日4,800元/月。",
            CAR,
            [
                "mon–fri: 00:00–24:00 30/h",
                "sat, sun, holiday: 00:00–24:00 40/h",
                "billed every started 30 min; each band on its own",
            ],
        ),
        (
            "小型車：計時 40元/時，停車全程以半小時計，進場未滿30分鐘離場不收費。",
            CAR,
            [
                "mon–sun, holiday: 00:00–24:00 40/h",
                "billed every started 30 min; each band on its own",
                "free for a stay of under 30 min",
            ],
        ),
        (
            "計時：汽車40元/時(08-21)，10元/時(21-翌日08)，進場未滿30分鐘免費，停車未滿1小時以1小時計，逾1小時以上者，未滿半小時以半小時計。",
            CAR,
            [
                "mon–sun, holiday: 00:00–08:00 10/h, 08:00–21:00 40/h, 21:00–24:00 10/h",
                "billed first 60 min in full, then every started 30 min; each band on its own",
                "free for a stay of under 30 min",
            ],
        ),
        (
            "小型車：計時 40元/時(09-21)，30元/時(21-09)，停車全程以半小時計，停放時間若跨越不同費率時段，則該跨越時段之費率以前一時段費率標準計算，其餘則依各時段費率標準計算。",
            CAR,
            [
                "mon–sun, holiday: 00:00–09:00 30/h, 09:00–21:00 40/h, 21:00–24:00 30/h",
                "billed every started 30 min; units run on",
            ],
        ),
        (
            "小型車： 計次 50元/次，隔日另計，本場未出售月票。機車：免費停車。",
            CAR,
            ["per entry: mon–sun, holiday 50, again from 00:00 each day"],
        ),
    ],
)
def test_real_phrasings_read_in_full(text: str, tariff_class: Any, expected: list[str]) -> None:
    assert lines(text, tariff_class) == expected


def test_a_text_naming_no_class_prices_the_class_the_caller_says() -> None:
    text = "計次:20元/次(隔日另計，以凌晨2時為跨日基準)。月租:全日900元/季。"
    assert lines(text, MOTORCYCLE, unlabeled=(MOTORCYCLE,)) == [
        "per entry: mon–sun, holiday 20, again from 02:00 each day"
    ]
    assert read_payex(text, unlabeled=(MOTORCYCLE,))[CAR].status is Status.ABSENT
    assert read_payex(text)[CAR].status is Status.FULL


def test_an_incomplete_phrase_is_reported_not_read_as_zero() -> None:
    text = "小型車：計時 元/時，未滿1小時以1小時計，逾1小時以上，未滿半小時以半小時計，大型巴士120元/時，中型巴士100元/時。機車：機車收費200元/次，隔日另計，以20時為基準，停放過夜每晚加收500元。"
    reading = read_payex(text)
    car = reading[CAR]
    assert (car.status, car.unread, car.tariff) == (Status.PARTIAL, ("計時 元/時",), None)
    assert car.draft == {"prices": [], "billing": {"first_unit_minutes": 60, "unit_minutes": 30}}
    assert reading[MOTORCYCLE].unread == ("停放過夜每晚加收500元",)
    with pytest.raises(TariffUnreadable, match="計時 元/時") as raised:
        reading.tariff_for(CAR)
    assert raised.value.extra["unread"] == ["計時 元/時"]


@pytest.mark.parametrize(
    ("text", "status", "unread", "problem"),
    [
        # A typo (位 for 未) is not corrected.
        (
            "計時：50元/時，停車位滿1小時以1小時計，逾1小時以上者，未滿半小時以半小時計。",
            Status.PARTIAL,
            "停車位滿1小時以1小時計",
            "no billing unit",
        ),
        # Event prices change the fare on days nobody can know from the text.
        (
            "小型車：週一至週五30元/時，週六、週日、行政機關放假之紀念日與民俗日40元/時，停車全程以半小時計；月租：全日5,400元，夜間2,400元(19-08)。本場常因配合大巨蛋活動調整費率為80元/時，請參閱現場費率調整公告。",
            Status.PARTIAL,
            "本場常因配合大巨蛋活動調整費率為80元/時",
            None,
        ),
        # Free minutes for some drivers only.
        (
            "計時：小型車80元/時，洽公民眾30分鐘內免費，全程以半小時計費。",
            Status.PARTIAL,
            "洽公民眾30分鐘內免費",
            None,
        ),
        # The night price repeats the days-off price: which days is the night band for?
        (
            "計時：平日100元/時，假日50元/時，夜間(22時~翌日6時)50元/時，停車未滿1小時以1小時計，逾1小時以上者，未滿半小時以半小時計。",
            Status.PARTIAL,
            None,
            "two prices for sat, sun, holiday 00:00–06:00",
        ),
        # Nothing is said of Sundays or of the hours outside 09–17.
        (
            "小型車：計時 週一~週六20元/時(09時~17時)，停車全程以半小時計。",
            Status.PARTIAL,
            None,
            "no price for sun",
        ),
        # Both a price per hour and one per entry: which applies when is not said.
        (
            "計時：60元/時，停車未滿1小時以1小時計，逾1小時以上者，未滿半小時以半小時計。計次：200元/次(隔日另計)。",
            Status.PARTIAL,
            None,
            "both hourly and per-entry",
        ),
        # An hourly price with no billing unit.
        ("小型車：20元/時；月租1200元/月。", Status.PARTIAL, None, "no billing unit"),
        # A price without its 元.
        (
            "計時：平日80元/時、假日100/時，停車未滿1小時以1小時計，逾1小時以上者，未滿半小時以半小時計。",
            Status.PARTIAL,
            "假日100/時",
            "no price for sat, sun",
        ),
        # Only conditions nobody can price.
        (
            "小型車：季票：6,000元/季。假日租用：100元/次(限長期租借本校球場團體租用)。",
            Status.UNREAD,
            None,
            None,
        ),
    ],
)
def test_what_cannot_be_read_is_reported_never_guessed(
    text: str, status: Status, unread: str | None, problem: str | None
) -> None:
    reading = read_payex(text)[CAR]
    assert reading.status is status
    assert reading.tariff is None
    if unread is not None:
        assert unread in reading.unread
    if problem is not None:
        assert any(problem in p for p in reading.problems), reading.problems


def test_monthly_passes_are_no_fare_and_their_conditions_are_only_noted() -> None:
    text = (
        "小型車：月租 全日4,500元，成功國宅第10棟住戶5折、成功國宅第10棟工作人員及所在鄰里民7折。"
    )
    reading = read_payex(text)
    assert reading[CAR].status is Status.ABSENT
    assert "成功國宅第10棟住戶5折" in reading.ignored
    with pytest.raises(NoFare):
        reading.tariff_for(CAR)


def test_unread_phrases_are_quoted_exactly_as_written() -> None:
    text = "計時：洽公車輛前30分鐘免費，30分鐘至1小時每小時30元，逾一小時以上每小時40元，全程以半小時計費。月租：夜間1,200/月(19-07)含例假日。"
    reading = read_payex(text)[CAR]
    assert reading.unread
    assert all(phrase in text for phrase in reading.unread)
    assert "洽公車輛前30分鐘免費" in reading.unread  # full-width characters kept


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet="計時次元/小型車機：:，。;()0123456789-~週一五六日假平分鐘免費最高上限隔日另計全程以半未滿逾 ",
        max_size=80,
    )
)
def test_any_text_is_read_without_error_and_unread_phrases_are_its_own(text: str) -> None:
    reading = read_payex(text)
    for result in reading.classes.values():
        assert all(phrase in text for phrase in result.unread)
        assert (result.tariff is not None) == (result.status is Status.FULL)


DAYS_WORDS = {"平日": WEEKDAYS, "假日": DAYS_OFF, "週一至週五": WEEKDAYS}


@settings(max_examples=100, deadline=None)
@given(
    day_price=st.integers(1, 30).map(lambda n: n * 10),
    night_price=st.integers(1, 30).map(lambda n: n * 10),
    start=st.integers(5, 11),
    end=st.integers(17, 23),
    first_hour=st.booleans(),
    grace=st.none() | st.integers(1, 30),
)
def test_generated_texts_in_the_citys_phrasing_read_back_to_their_numbers(
    day_price: int, night_price: int, start: int, end: int, first_hour: bool, grace: int | None
) -> None:
    billing = (
        "停車未滿1小時以1小時計，逾1小時以上者，未滿半小時以半小時計"
        if first_hour
        else "全程以半小時計費"
    )
    free = f"，停車{grace}分鐘內免費" if grace else ""
    text = f"計時：{day_price}元/時({start:02d}-{end:02d})，{night_price}元/時({end:02d}-{start:02d}){free}，{billing}。月租：全日4,800元/月。"
    tariff = read_payex(text).tariff_for(CAR)
    assert tariff.hourly is not None
    bands = {(b.start, b.end): int(b.per_hour) for b in tariff.hourly.rates[0].bands}
    if day_price != night_price:
        assert bands[(start * 60, end * 60)] == day_price
        assert bands[(0, start * 60)] == bands[(end * 60, 1440)] == night_price
    else:
        assert bands == {(0, 1440): day_price}
    assert tariff.hourly.billing.first_unit_minutes == (60 if first_hour else 30)
    assert (tariff.grace.minutes if tariff.grace else None) == grace
    assert tariff.hourly.rates[0].days == frozenset(DayKind)
