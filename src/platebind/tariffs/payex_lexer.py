"""The words of Taipei's tariff texts (``payex``): normalisation and the token patterns.

The texts are free Chinese prose with a small vocabulary: vehicle classes (小型車, 機車, …),
modes (計時 per hour, 計次 per entry, 月租 monthly passes), day expressions (週一至週五, 假日,
行政機關放假之紀念日與民俗日), time bands ((08-22), (07:30-21:30), (19-翌日08)), prices (40元/時,
20元/次), billing units (全程以半小時計; 未滿1小時以1小時計，逾1小時以上者，未滿半小時以半小時計),
free minutes, daily caps and day boundaries. :func:`tokens` cuts a text into those words, or
into an ``unknown`` phrase that runs to the next clause separator: the reader reports unknown
phrases instead of guessing at them.

Normalisation replaces characters one for one (full-width colon, parentheses, digits, …), so a
token's span is also its span in the original text and unread phrases are quoted exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_ONE_FOR_ONE = str.maketrans(
    "：（）～〜－—–；　／０１２３４５６７８９周︰",
    ":()~~---; /0123456789週:",
)


def normalise(text: str) -> str:
    """One character for one: the spans of tokens are spans of the original text."""
    return text.translate(_ONE_FOR_ONE)


NUM = r"\d{1,3}(?:,\d{3})+|\d+"
_DAY_CHAR = "[一二三四五六日天]"
_WEEK = r"(?:週|星期)"
# One day term: a weekday range or list, the holidays, 平日 / 假日.
DAY_TERM = (
    rf"{_WEEK}六日"
    rf"|{_WEEK}{_DAY_CHAR}(?:\s*[至~\-]\s*{_WEEK}?{_DAY_CHAR})?"
    r"|(?:政府)?行政機關放假之紀念日(?:\s*[與及、]\s*)?民俗(?:節)?日(?:之全日)?"
    r"|國定(?:例)?假日|例假日|假日|平常日|平日"
)
# 「週六、日」: after a joiner, a bare 日 is Sunday.
_DAYS = rf"(?:{DAY_TERM})(?:\s*[、及與和]\s*(?:{DAY_TERM}|日(?![間夜])))*"

# A time of day: 0700, 07:30, 7時, 翌日08.
_TIME = r"(?:翌日|隔日|凌晨)?\s*(?:\d{4}(?!\d)|\d{1,2}(?::\d{2})?)\s*(?:時|點)?"
BAND = rf"(?P<a>{_TIME})\s*[-~至]\s*(?P<b>{_TIME})"

_PRICE = rf"(?P<n>{NUM})\s*元"
_ROUND_TAIL = r"(?:計算|計費|計)?(?:收費)?"
FIRST_HOUR = (
    # 「逾15分鐘未滿1小時以1小時計」 follows free minutes: past them, the first hour counts whole.
    rf"(?:停車時數|停車|逾\s*\d+\s*分鐘)?未滿\s*(?:1|一)\s*小時(?:者)?[,，]?\s*以\s*1\s*小時{_ROUND_TAIL}[,，;]?\s*"
    rf"(?:停車)?逾\s*1\s*小時以上(?:者)?[,，。]?\s*未滿半小時(?:者)?以半小時{_ROUND_TAIL}"
)
HALF_HOUR = rf"(?:停車)?全程(?:以)?半小時{_ROUND_TAIL}|以半小時為計費單位|(?:停車)?以半小時計費"
GRACE = (
    r"(?:停車時數|停車|車輛|臨停|入場|進場|停放|全時段|緩衝時間|\s)*(?:前)?(?P<cmp>未滿|未逾)?\s*"
    r"(?P<n>\d+)\s*分鐘(?:內|以內|以下)?(?:離場|出場|離開|過卡)?(?:者)?[,，]?\s*"
    r"(?:可)?(?:免費(?:離場|停車)?|不收費|免收費)"
)
CAP = (
    rf"(?:當日|每日)?(?:當次|單次)?(?:停車)?(?:最高(?:收費)?(?:上限)?|收費上限|上限)"
    rf"\s*(?P<n>{NUM})\s*元(?:\s*/\s*(?:日|次))?"
    rf"|每日收費不超過\s*(?P<n2>{NUM})\s*元"
)
BOUNDARY = (
    r"(?:以)?(?:凌晨)?(?P<h>\d{1,2})\s*時為(?:跨日)?(?:計費)?基準(?:點)?(?:跨日另計費)?"
    r"|每日零時為計費基準點"
)
NEXT_DAY = r"隔日(?:隔次)?另計(?:費)?|離場再停或跨日全日另計|跨日全日另計|離場再進或隔日另計"

MIRROR_HEAVY = (
    r"\(含(?:大型重型機車|大型重機|大重機)\)"
    r"|(?:大型重機|大型重型機車|大重機)(?:計時)?比照(?:汽車|小型車)(?:費率)?"
)
# The one text that bills a unit crossing a band edge at the earlier band's price.
ACROSS_PREVIOUS = (
    r"停放時間若跨越不同費率時段[,，]?\s*則該跨越時段之費率以前一時段費率標準計算[,，]?\s*"
    r"其餘則依各時段費率標準計算"
)
MONTHLY = (
    r"(?:全日|全天|日間|夜間|非駐站|駐站)?(?:雙)?"
    r"(?:月租|月票|季租|季票|年租|年票|半年租|季繳)(?:\((?:時段|全日)\))?(?P<colon>\s*:)?"
)

# Words of monthly passes and other periodic fees.
PERIODIC = r"月租|月票|季租|季票|年租|年票|半年租|季繳|季收|按季|/\s*月|/\s*季|每月|每季|每期|學期"

# Vehicle classes, longest first; ``car+heavy`` is 小型車 with 大型重型機車 priced alike.
CLASSES: tuple[tuple[str, str], ...] = (
    (r"小型車\s*\(含(?:大型重型機車|大型重機|大重機)\)", "car+heavy"),
    (r"小型車\s*(?:及|、|/|與)\s*(?:大型重型機車|大型重機|大重機)", "car+heavy"),
    (r"小型車\s*\(不含大型重型機車\)", "car"),
    (r"大型重型機車|大型重機|大重機", "heavy"),
    (r"小型車|汽車|小型(?=\d)", "car"),
    (r"機車", "motorcycle"),
    (
        r"大型車|大客車|大客、貨車|大型巴士|中型巴士|貨車|(?<!\d)\d+呎貨櫃車|電動搬運車|市區公車"
        r"|[甲乙丙丁]種採購車|小型採購車|理貨分包採購車",
        "other",
    ),
)

# Phrases that are understood and are not a per-stay fare of a modelled class: kept as notes.
IGNORED = (
    r"停放於?充電格位之?車輛[^。]*?合計[^)]*\)",
    r"充電格位\s*:[^。]*",
    r"停放充電格位(?:未充電)?\s*\d+\s*元/時",
    r"電動汽車充電另收充電服務費[,，]?\s*採以度計費",
    r"違規(?:拖吊|停車)?保管費[^。]*",
    r"本場未出售月票",
    r"繳費後\s*\d+\s*分鐘內離場緩衝時間",
    r"\(身心障礙者比照收費\)",
    r"\(依人事行政局公告行事曆為準\)",
    r"大客車收費同小型車",
)

# (kind, pattern), tried in this order; the longest match wins, the earlier on a tie.
PATTERNS: tuple[tuple[str, str], ...] = (
    ("ignored", "|".join(IGNORED)),
    ("mirror_heavy", MIRROR_HEAVY),
    ("across_prev", ACROSS_PREVIOUS),
    ("first_hour", FIRST_HOUR),
    ("half_hour", HALF_HOUR),
    ("grace", GRACE),
    ("full_price_after_grace", r"超過\s*\d+\s*分鐘以全價計收"),
    ("no_cap", r"無(?:收費|最高)上限"),
    ("cap", CAP),
    ("next_day", NEXT_DAY),
    ("boundary", BOUNDARY),
    ("same_entry", r"中途離場再進場需另行計次收費|凡跨越每日零時停車者[,，]?\s*累計收費"),
    ("rest_free", r"其餘時段不收費"),
    ("free", r"(?:開放)?(?:暫)?(?:免費停車|免費|不收費|免收費)(?!\s*:)"),
    ("hourly_mode", r"(?:計時|臨停|臨時停車)(?P<colon>\s*:)?"),
    ("entry_mode", r"計次(?P<colon>\s*:)?"),
    ("monthly_mode", MONTHLY),
    ("per_hour", rf"{_PRICE}\s*/\s*(?:小時|時)|每小時\s*(?P<n2>{NUM})\s*元"),
    ("per_entry", rf"{_PRICE}\s*/\s*次|每次\s*(?P<n2>{NUM})\s*元"),
    ("per_period", rf"(?P<n>{NUM})\s*元?\s*/\s*(?:月|季|雙月|半年|年)(?:繳)?"),
    ("per_day", rf"{_PRICE}\s*/\s*日"),
    ("bare_price", rf"{_PRICE}(?![/\d])"),
    ("band", BAND),
    ("hours_note", r"\(\s*\d+\s*(?:小時|H)(?:/日)?\s*\)"),
    ("days", _DAYS),
    *((f"class:{name}", rf"(?:{pattern})(?P<colon>\s*:)?") for pattern, name in CLASSES),
    ("noise", r"收費|計費|日間|夜間|白天|全日|全天|每日|當日|[一二三四五六]、|\([一二三四五六]\)"),
    ("open", r"\("),
    ("close", r"\)"),
    ("colon", r":"),
    ("stop", r"。"),
    ("semicolon", r";"),
    ("comma", r"[，、,]"),
)  # fmt: skip

_COMPILED = tuple((kind, re.compile(pattern)) for kind, pattern in PATTERNS)
_SEPARATORS = frozenset("，、,;。")


@dataclass(frozen=True)
class Token:
    kind: str
    start: int
    end: int
    match: re.Match[str] | None = None

    def group(self, name: str) -> str | None:
        if self.match is None:
            return None
        found = self.match.groupdict().get(name)
        return found if found is not None else self.match.groupdict().get(f"{name}2")

    def number(self) -> int:
        """The amount of a price, cap or grace token (thousands separators removed)."""
        found = self.group("n")
        if found is None:
            raise ValueError(f"a {self.kind} token has no number")
        return int(found.replace(",", ""))


def _longest(text: str, pos: int) -> Token | None:
    best: Token | None = None
    for kind, pattern in _COMPILED:
        match = pattern.match(text, pos)
        if match and match.end() > pos and (best is None or match.end() > best.end):
            best = Token(kind, pos, match.end(), match)
    return best


def _thousands(text: str, pos: int) -> bool:
    """A comma between digits, three after it: 「10,000」 is one number, not two clauses."""
    return (
        text[pos] == ","
        and pos > 0
        and text[pos - 1].isdigit()
        and text[pos + 1 : pos + 4].isdigit()
        and not text[pos + 4 : pos + 5].isdigit()
    )


def _unknown_end(text: str, pos: int) -> int:
    """An unknown phrase runs to the next separator outside its own parentheses, or to a
    closing parenthesis it did not open."""
    depth = 0
    end = pos
    while end < len(text):
        char = text[end]
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        elif char in _SEPARATORS and depth == 0 and not _thousands(text, end):
            break
        end += 1
    return end


def tokens(text: str) -> Iterator[Token]:
    """The tokens of a normalised text, whitespace skipped; ``unknown`` for unread phrases."""
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        token = _longest(text, pos)
        if token is None:
            end = _unknown_end(text, pos)
            token = Token("unknown", pos, max(end, pos + 1))
        yield token
        pos = token.end
