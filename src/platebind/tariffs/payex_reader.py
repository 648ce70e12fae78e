"""Reading a tariff text: tokens in, one :class:`ClassDraft` per vehicle class out.

The reader walks the tokens once with a little state, the way a person reads the text:

- **who**: a class header (「小型車：」) or mention (「機車20元/時」) says which classes the next
  prices are for; a text that names no class prices the ``unlabeled`` classes (the car, unless
  the caller knows better). 大型車, 大客車, 貨車 … are read and dropped.
- **how**: 計時 / 計次 / 月租 set the mode; a bare 「30元」 is per hour under 計時 and per entry
  under 計次; monthly passes are not a per-stay fare and are skipped.
- **when**: a day expression before prices holds until the next one (「週一至週五20元/時，10元/時
  (22-08)，週六…」); after a price, in the same clause, it belongs to that price only; a band
  before a price belongs to that price, after it too.
- **modifiers**: billing units and free minutes apply to the classes priced in the same sentence;
  a cap to the classes and days being priced; 「隔日另計」 and its base hour to the cap or the
  per-entry price just read.

A phrase the reader does not know is kept, exactly as written, for the classes it is about —
never skipped, never guessed at. Inside a monthly-pass section a phrase that says nothing about a
stay (no 計時, 分鐘, 免費, 最高, /時 …) is noted as ignored instead.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from platebind.tariffs.days import DayKind
from platebind.tariffs.payex_draft import (
    CAR,
    HEAVY,
    MOTORCYCLE,
    OTHER,
    CapDraft,
    ClassDraft,
    Item,
    Target,
    Unit,
)
from platebind.tariffs.payex_lexer import Token, normalise, tokens
from platebind.tariffs.payex_words import (
    about_a_stay,
    about_passes_only,
    classes_named,
    parse_band,
    parse_days,
)

_CLASS_TARGETS: dict[str, frozenset[Target]] = {
    "car": frozenset({CAR}),
    "car+heavy": frozenset({CAR, HEAVY}),
    "heavy": frozenset({HEAVY}),
    "motorcycle": frozenset({MOTORCYCLE}),
    "other": frozenset({OTHER}),
}
_CONTEXT = frozenset({"hourly_mode", "entry_mode", "days", "noise", "open"})


class PayexReader:
    """One text's reading; use :func:`read_text`."""

    def __init__(self, original: str, unlabeled: frozenset[Target]) -> None:
        self.original = original
        self.text = normalise(original)
        self.unlabeled = unlabeled
        self.drafts: dict[Target, ClassDraft] = {c: ClassDraft() for c in (CAR, MOTORCYCLE, HEAVY)}
        self.ignored: list[str] = []
        self.floating: list[str] = []  # unread phrases said of no class in particular
        self._new_sentence()
        self.previous: list[str] = []

    # -- state -----------------------------------------------------------------------------

    def _new_sentence(self) -> None:
        self.targets: frozenset[Target] | None = None
        self.mode: str | None = None
        self.days: frozenset[DayKind] | None = None
        self.days_fresh = False
        self.pending_band: Token | None = None
        self.open_item: Item | None = None
        self.depth = 0
        self.sentence_classes: set[Target] = set()
        self.last_daily: list[CapDraft] | frozenset[Target] | None = None
        self.context_start: int | None = None

    def _phrase(self, token: Token) -> str:
        return self.original[token.start : token.end].strip()

    def _who(self) -> frozenset[Target]:
        return self.targets if self.targets is not None else self.unlabeled

    def _classes(self, who: frozenset[Target]) -> list[ClassDraft]:
        return [self.drafts[t] for t in who if t != OTHER]

    def _modified(self) -> list[ClassDraft]:
        """Billing units and free minutes: the classes priced in this sentence, else those
        being talked about, else those priced so far (「…。進場未逾15分鐘免費。」)."""
        if self.sentence_classes:
            return self._classes(frozenset(self.sentence_classes))
        if self.targets is not None:
            return self._classes(self.targets)
        priced = [draft for draft in self.drafts.values() if draft.has_fare]
        return priced or self._classes(self.unlabeled)

    def _unread(self, phrase: str, who: frozenset[Target] | None = None) -> None:
        if who is None and self.targets is None:
            self.floating.append(phrase)
            return
        drafts = self._classes(who if who is not None else self._who())
        for draft in drafts:
            draft.unread.append(phrase)
        if not drafts:
            self.ignored.append(phrase)

    # -- the walk --------------------------------------------------------------------------

    def read(self) -> None:
        handlers = self._handlers()
        for token in tokens(self.text):
            kind = token.kind.split(":")[0]
            handlers[kind](token)
            if kind in _CONTEXT:
                if self.context_start is None:
                    self.context_start = token.start
            elif kind != "unknown":
                self.context_start = None
            self.previous = [*self.previous[-1:], token.kind]
        self._end_clause()
        self._finish()

    def _handlers(self) -> dict[str, Callable[[Token], None]]:
        return {
            "ignored": lambda t: self.ignored.append(self._phrase(t)),
            "mirror_heavy": self._mirror_heavy,
            "across_prev": self._across_previous,
            "first_hour": lambda t: self._billing(60, 30),
            "half_hour": lambda t: self._billing(30, 30),
            "grace": self._grace,
            "full_price_after_grace": lambda t: None,
            "no_cap": lambda t: None,
            "cap": self._cap,
            "next_day": self._next_day,
            "boundary": self._boundary,
            "same_entry": self._same_entry,
            "rest_free": self._rest_free,
            "free": self._free,
            "hourly_mode": lambda t: self._mode("hourly", t),
            "entry_mode": lambda t: self._mode("entry", t),
            "monthly_mode": lambda t: self._mode("monthly", t),
            "per_hour": lambda t: self._price(t, "hour"),
            "per_entry": lambda t: self._price(t, "entry"),
            "bare_price": self._bare_price,
            "per_period": lambda t: self._mode("monthly", None),
            "per_day": lambda t: self._unread(self._phrase(t)),
            "band": self._band,
            "hours_note": self._hours_note,
            "days": self._days,
            "class": self._class,
            "noise": lambda t: None,
            "open": lambda t: setattr(self, "depth", self.depth + 1),
            "close": lambda t: setattr(self, "depth", max(0, self.depth - 1)),
            "colon": lambda t: None,
            "stop": self._stop,
            "semicolon": lambda t: self._end_clause(),
            "comma": self._comma,
            "unknown": self._unknown,
        }  # fmt: skip

    def _across_previous(self, token: Token) -> None:
        for draft in self._modified():
            draft.across_previous = True

    def _rest_free(self, token: Token) -> None:
        for draft in self._classes(self._who()):
            draft.rest_free = True

    # -- separators ------------------------------------------------------------------------

    def _end_clause(self) -> None:
        if self.pending_band is not None:
            self._unread(self._phrase(self.pending_band))
            self.pending_band = None
        self.open_item = None
        self.context_start = None

    def _comma(self, token: Token) -> None:
        if self.depth == 0:
            self._end_clause()

    def _stop(self, token: Token) -> None:
        self._end_clause()
        self._new_sentence()

    # -- who and how -----------------------------------------------------------------------

    def _class(self, token: Token) -> None:
        who = _CLASS_TARGETS[token.kind.split(":")[1]]
        if token.group("colon") is not None:
            # A header starts a new section; 「計時:小型車/大型重型機車：30元」 keeps its mode.
            mode = self.mode if self.mode != "monthly" else None
            self._end_clause()
            self._new_sentence()
            self.mode = mode
        elif self._listed_after_class():
            who = who | (self.targets or frozenset())  # 「小型車、機車20元/時」
        elif not self.days_fresh:
            self.days = None
        self.targets = who
        self.open_item = None

    def _listed_after_class(self) -> bool:
        kinds = self.previous[-2:]
        return len(kinds) == 2 and kinds[0].startswith("class:") and kinds[1] == "comma"

    def _mode(self, mode: str, token: Token | None) -> None:
        if token is not None and token.group("colon") is not None:
            self._end_clause()
            self.days = None
        self.mode = mode

    def _mirror_heavy(self, token: Token) -> None:
        self.drafts[HEAVY].mirrors_car = True

    # -- prices ----------------------------------------------------------------------------

    def _bare_price(self, token: Token) -> None:
        if self.mode == "hourly":
            self._price(token, "hour")
        elif self.mode == "entry":
            self._price(token, "entry")
        elif self.mode != "monthly":
            self._unread(self._phrase(token))

    def _price(self, token: Token, unit: Unit) -> None:
        if self.mode == "monthly":
            # A per-stay price among monthly passes: say so rather than guess whose it is.
            self._unread(self._phrase(token))
            return
        who = self._who()
        phrase = self.original[self.context_start or token.start : token.end].strip()
        item = Item(Decimal(token.number()), unit, phrase, self.days)
        if self.pending_band is not None:
            item.band = self._band_of(self.pending_band)
            self.pending_band = None
        for draft in self._classes(who):
            draft.items.append(item)
        self.sentence_classes |= who - {OTHER}
        self.open_item = item
        self.days_fresh = False
        self.last_daily = who if unit == "entry" else None

    def _band_of(self, token: Token) -> tuple[int, int] | None:
        try:
            return parse_band(token.group("a") or "", token.group("b") or "")
        except ValueError:
            self._unread(self._phrase(token))
            return None

    def _band(self, token: Token) -> None:
        if self.mode == "monthly":
            return
        item = self.open_item
        if item is not None and item.band is None:
            item.band = self._band_of(token)
        elif item is not None or self.pending_band is not None:
            self._unread(self._phrase(token))
        else:
            self.pending_band = token

    def _hours_note(self, token: Token) -> None:
        # 「全日5,500元/月(24小時)」: how long a pass holder may park, not a stay's price.
        if self.mode == "monthly":
            self.ignored.append(self._phrase(token))
        else:
            self._unread(self._phrase(token))

    def _days(self, token: Token) -> None:
        if self.mode == "monthly":
            return
        days = parse_days(token.match[0] if token.match else "")
        item = self.open_item
        if item is None:
            self.days, self.days_fresh = days, True
        elif item.days is None:
            item.days, item.postfix_days = days, True
        else:
            self._unread(self._phrase(token))

    def _free(self, token: Token) -> None:
        if self.pending_band is not None:
            band = self._band_of(self.pending_band)
            self.pending_band = None
            item = Item(Decimal(0), "hour", self._phrase(token), self.days, band)
            for draft in self._classes(self._who()):
                draft.items.append(item)
            self.sentence_classes |= self._who() - {OTHER}
            return
        for draft in self._classes(self._who()):
            draft.free = True

    # -- modifiers -------------------------------------------------------------------------

    def _billing(self, first: int, unit: int) -> None:
        for draft in self._modified():
            if (first, unit) not in draft.billing:
                draft.billing.append((first, unit))

    def _grace(self, token: Token) -> None:
        inclusive = token.group("cmp") != "未滿"
        for draft in self._modified():
            if (token.number(), inclusive) not in draft.grace:
                draft.grace.append((token.number(), inclusive))

    def _cap(self, token: Token) -> None:
        days = self.open_item.days if self.open_item is not None else self.days
        caps = []
        for draft in self._classes(self._who()):
            cap = CapDraft(token.number(), days)
            draft.caps.append(cap)
            caps.append(cap)
        self.last_daily = caps

    def _next_day(self, token: Token) -> None:
        if isinstance(self.last_daily, frozenset):
            for draft in self._classes(self.last_daily):
                if draft.entry_boundary is None:
                    draft.entry_boundary = 0
        elif not self.last_daily:
            self._unread(self._phrase(token))

    def _boundary(self, token: Token) -> None:
        hour = token.group("h")
        minutes = (int(hour) % 24) * 60 if hour is not None else 0
        if isinstance(self.last_daily, frozenset):
            for draft in self._classes(self.last_daily):
                draft.entry_boundary = minutes
        elif self.last_daily:
            for cap in self.last_daily:
                cap.resets_at = minutes
        else:
            self._unread(self._phrase(token))

    def _same_entry(self, token: Token) -> None:
        if not isinstance(self.last_daily, frozenset):
            self._unread(self._phrase(token))

    def _unknown(self, token: Token) -> None:
        phrase = self.original[self.context_start or token.start : token.end].strip()
        if about_passes_only(phrase) or (self.mode == "monthly" and not about_a_stay(phrase)):
            self.ignored.append(phrase)
            return
        named = classes_named(phrase)
        if named:
            self._unread(phrase, frozenset().union(*(_CLASS_TARGETS[n] for n in named)))
        else:
            self._unread(phrase)

    # -- the end ---------------------------------------------------------------------------

    def _finish(self) -> None:
        priced = [d for d in self.drafts.values() if d.has_fare]
        for phrase in self.floating:
            for draft in priced or self._classes(self.unlabeled):
                draft.unread.append(phrase)
        heavy, car = self.drafts[HEAVY], self.drafts[CAR]
        if heavy.mirrors_car:
            if heavy.has_fare:
                heavy.problems.append("heavy motorcycles have prices and are also priced as cars")
            else:
                mirrored = car.copy()
                mirrored.unread += heavy.unread
                self.drafts[HEAVY] = mirrored


def read_text(
    text: str, unlabeled: frozenset[Target]
) -> tuple[dict[Target, ClassDraft], list[str]]:
    """The drafts per class and the phrases recognised as no per-stay fare (ignored)."""
    reader = PayexReader(text, unlabeled)
    reader.read()
    return reader.drafts, reader.ignored
