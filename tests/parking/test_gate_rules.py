"""The gate's pure rules: fuzzy matching, entry and exit decisions, offline gates."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platebind.parking.rules import (
    CONFUSION_CLASSES,
    ENTRY_ACTIONS,
    EXIT_ACTIONS,
    Action,
    ExitDecision,
    ExitMatch,
    Flag,
    Gate,
    Holder,
    Match,
    OpenSession,
    Reading,
    Settlement,
    confusable,
    decide_entry,
    decide_exit,
    fuzzy_key,
    is_late,
    match_exit,
)
from platebind.plates import TariffClass
from platebind.tariffs.model import Tariff
from tests.tariffs.helpers import at, flat

THRESHOLD = 0.8
ENTERED = at("2026-11-27 08:00")
# 30 TWD an hour, every started half hour billed: 15 TWD a unit.
TARIFF = flat(30)
CONFUSABLE = "".join(CONFUSION_CLASSES)
# Letters the new series uses (no I or O), the digits, and a few of each outside the classes.
NEW_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def reading(
    plate: str | None = "ABC-1234",
    *,
    gate: Gate = Gate.ENTRY,
    text: str | None = None,
    when: datetime = ENTERED,
    confidence: float = 0.95,
    decided: Action | None = None,
    late: bool = False,
) -> Reading:
    return Reading(
        gate=gate,
        plate=plate,
        text=text if text is not None else (plate or "???"),
        tariff_class=TariffClass.CAR,
        at=when,
        confidence=confidence,
        decided=decided,
        late=late,
    )


def session(
    plate: str = "ABC-1234",
    *,
    card_free: bool = True,
    entered_at: datetime = ENTERED,
    agent: str | None = "cmj",
) -> OpenSession:
    return OpenSession(
        id=uuid.uuid4(),
        plate=plate,
        tariff_class=TariffClass.CAR,
        entered_at=entered_at,
        card_free=card_free,
        agent_id=agent if card_free else None,
    )


def holder(active: bool = True) -> Holder:
    return Holder(uuid.uuid4(), "cmj", agent_active=active)


def exit_reading(
    plate: str | None = "ABC-1234",
    *,
    text: str | None = None,
    when: datetime = ENTERED + timedelta(hours=2, minutes=10),
    confidence: float = 0.95,
    decided: Action | None = None,
    late: bool = False,
) -> Reading:
    return reading(
        plate,
        gate=Gate.EXIT,
        text=text,
        when=when,
        confidence=confidence,
        decided=decided,
        late=late,
    )


# ---------------------------------------------------------------------------------------------
# Fuzzy matching

plate_texts = st.text(alphabet=NEW_LETTERS + "0123456789-", min_size=1, max_size=9)
confusable_chars = st.sampled_from(CONFUSABLE)


@given(plate_texts)
def test_a_read_always_fits_itself(text: str) -> None:
    assert confusable(text, text)


@given(plate_texts, plate_texts)
def test_confusion_is_symmetric(a: str, b: str) -> None:
    assert confusable(a, b) == confusable(b, a)


@given(plate_texts, plate_texts, plate_texts)
def test_confusion_is_transitive(a: str, b: str, c: str) -> None:
    if confusable(a, b) and confusable(b, c):
        assert confusable(a, c)


@given(plate_texts, st.data())
def test_swapping_characters_of_one_class_still_fits(text: str, data: st.DataObject) -> None:
    swapped = "".join(
        data.draw(st.sampled_from(next(g for g in CONFUSION_CLASSES if ch in g)))
        if ch in CONFUSABLE
        else ch
        for ch in text
    )
    assert confusable(text, swapped)


@given(plate_texts, st.integers(min_value=0), st.sampled_from("ACEFHKMNPRTUVWXY34679"))
def test_another_character_outside_the_classes_does_not_fit(
    text: str, position: int, replacement: str
) -> None:
    chars = list(text)
    index = position % len(chars)
    if chars[index] == replacement or chars[index] == "-":
        return
    chars[index] = replacement
    assert not confusable(text, "".join(chars))


def test_each_documented_confusion_fits_and_the_hyphen_is_ignored() -> None:
    for a, b in [("0", "O"), ("O", "D"), ("D", "Q"), ("8", "B"), ("1", "I"), ("5", "S")]:
        assert confusable(f"AB{a}-1234", f"AB{b}-1234")
    assert confusable("ABC-1234", "ABC1Z34")
    assert fuzzy_key("ABC-1234") == fuzzy_key("A8C1234")
    assert not confusable("ABC-1234", "ABC-1235")
    assert not confusable("ABC-1234", "ABC-12345")


# ---------------------------------------------------------------------------------------------
# Matching an exit to its session


def test_exit_prefers_the_newest_exact_session() -> None:
    older = session(entered_at=ENTERED - timedelta(days=2))
    newer = session()
    fuzzy = session("A8C-1234")
    found = match_exit(exit_reading(), [older, fuzzy, newer])
    assert found == ExitMatch(newer, Match.EXACT)


def test_a_fuzzy_match_needs_exactly_one_candidate() -> None:
    one = session("ABD-1234")
    assert match_exit(exit_reading("ABQ-1234"), [one]) == ExitMatch(
        one, Match.FUZZY, (Flag.FUZZY_MATCH,)
    )
    two = [one, session("ABO-1234")]
    assert match_exit(exit_reading("ABQ-1234"), two) == ExitMatch(
        None, None, (Flag.AMBIGUOUS_MATCH,)
    )
    assert match_exit(exit_reading("XYZ-9876"), two) == ExitMatch(
        None, None, (Flag.NO_OPEN_SESSION,)
    )


def test_an_invalid_read_can_find_its_session_by_confusion() -> None:
    inside = session("ABC-1234")
    found = match_exit(exit_reading(None, text="A8C-1Z34"), [inside])
    assert found.session == inside
    assert found.match is Match.FUZZY


def test_a_session_entered_after_the_exit_is_not_its_session() -> None:
    later = session(entered_at=ENTERED + timedelta(hours=3))
    assert match_exit(exit_reading(), [later]).session is None


sessions_st = st.lists(
    st.builds(
        session,
        st.sampled_from(["ABC-1234", "A8C-1234", "ABC-I234", "XYZ-5555", "XYZ-S555"]),
        card_free=st.booleans(),
        entered_at=st.sampled_from(
            [ENTERED - timedelta(hours=1), ENTERED, ENTERED + timedelta(hours=9)]
        ),
    ),
    max_size=6,
)


@given(sessions_st, st.sampled_from(["ABC-1234", "ABC-I234", "XYZ-5555", "QQQ-0000"]))
def test_matching_follows_its_rules_for_any_lot(candidates: list[OpenSession], plate: str) -> None:
    read = exit_reading(plate)
    found = match_exit(read, candidates)
    eligible = [s for s in candidates if s.entered_at <= read.at]
    exact = [s for s in eligible if s.plate == plate]
    fits = [s for s in eligible if confusable(s.plate, plate)]
    if exact:
        assert found.match is Match.EXACT
        assert found.session is not None
        assert found.session in exact
        assert found.session.entered_at == max(s.entered_at for s in exact)
    elif len(fits) == 1:
        assert found == ExitMatch(fits[0], Match.FUZZY, (Flag.FUZZY_MATCH,))
    else:
        assert found.session is None


# ---------------------------------------------------------------------------------------------
# Entry


def test_a_bound_plate_of_an_active_agent_enters_card_free() -> None:
    bound = holder()
    decision = decide_entry(reading(), THRESHOLD, bound, [])
    assert (decision.action, decision.card_free, decision.holder) == (Action.OPEN, True, bound)
    assert decision.opens_session
    assert decision.flags == ()


def test_an_unbound_plate_gets_a_ticket() -> None:
    decision = decide_entry(reading(), THRESHOLD, None, [])
    assert (decision.action, decision.card_free, decision.opens_session) == (
        Action.TICKET,
        False,
        True,
    )


def test_a_suspended_agents_plate_gets_a_ticket() -> None:
    decision = decide_entry(reading(), THRESHOLD, holder(active=False), [])
    assert (decision.action, decision.card_free) == (Action.TICKET, False)
    assert decision.holder is None
    assert decision.flags == (Flag.AGENT_SUSPENDED,)


def test_an_invalid_plate_or_a_doubtful_read_calls_the_attendant() -> None:
    invalid = decide_entry(reading(None, text="ABC-12"), THRESHOLD, None, [])
    assert (invalid.action, invalid.opens_session, invalid.flags) == (
        Action.ATTENDANT,
        False,
        (Flag.INVALID_PLATE,),
    )
    doubtful = decide_entry(reading(confidence=0.79), THRESHOLD, holder(), [session()])
    assert (doubtful.action, doubtful.opens_session, doubtful.flags) == (
        Action.ATTENDANT,
        False,
        (Flag.LOW_CONFIDENCE,),
    )
    exactly_at = decide_entry(reading(confidence=THRESHOLD), THRESHOLD, holder(), [])
    assert exactly_at.action is Action.OPEN


def test_a_second_entry_of_a_plate_inside_is_flagged_and_closes_nothing() -> None:
    inside = session()
    lookalike = session("A8C-1234")
    decision = decide_entry(reading(), THRESHOLD, holder(), [inside, lookalike])
    assert decision.action is Action.OPEN
    assert decision.opens_session
    assert decision.duplicates == (inside.id,)
    assert decision.flags == (Flag.DUPLICATE_ENTRY,)


def test_an_offline_gate_that_opened_is_followed_and_card_free_needs_the_binding() -> None:
    unbound = decide_entry(reading(decided=Action.OPEN, late=True), THRESHOLD, None, [])
    assert (unbound.action, unbound.card_free, unbound.opens_session) == (Action.OPEN, False, True)
    assert unbound.flags == (
        Flag.LATE,
        Flag.GATE_DECIDED,
        Flag.GATE_DECISION_DIFFERS,
        Flag.OPENED_WITHOUT_BINDING,
    )
    bound = decide_entry(reading(decided=Action.OPEN), THRESHOLD, holder(), [])
    assert (bound.action, bound.card_free, bound.flags) == (
        Action.OPEN,
        True,
        (Flag.GATE_DECIDED,),
    )
    ticketed = decide_entry(reading(decided=Action.TICKET), THRESHOLD, holder(), [])
    assert (ticketed.action, ticketed.card_free) == (Action.TICKET, False)
    doubtful_but_opened = decide_entry(
        reading(confidence=0.1, decided=Action.OPEN), THRESHOLD, holder(), []
    )
    assert (doubtful_but_opened.action, doubtful_but_opened.card_free) == (Action.OPEN, True)


entry_readings = st.builds(
    reading,
    st.sampled_from(["ABC-1234", "XYZ-5678", None]),
    confidence=st.floats(min_value=0, max_value=1),
    decided=st.none() | st.sampled_from(sorted(ENTRY_ACTIONS)),
    late=st.booleans(),
)
holders = st.none() | st.builds(holder, st.booleans())


@given(entry_readings, holders, sessions_st)
def test_entry_decisions_keep_their_invariants(
    read: Reading, found: Holder | None, inside: list[OpenSession]
) -> None:
    decision = decide_entry(read, THRESHOLD, found, inside)
    assert decision.action in ENTRY_ACTIONS
    if read.decided is not None:
        assert decision.action is read.decided
    assert decision.opens_session == (
        decision.action is not Action.ATTENDANT and read.plate is not None
    )
    if decision.card_free:
        assert decision.action is Action.OPEN
        assert found is not None
        assert found.agent_active
        assert decision.holder == found
    if (Flag.DUPLICATE_ENTRY in decision.flags) != bool(decision.duplicates):
        raise AssertionError("duplicates and their flag go together")
    assert len(set(decision.flags)) == len(decision.flags)


# ---------------------------------------------------------------------------------------------
# Exit


def exit_of(
    inside: OpenSession, read: Reading | None = None, tariff: Tariff | None = TARIFF
) -> ExitDecision:
    found = ExitMatch(inside, Match.EXACT)
    return decide_exit(read or exit_reading(), THRESHOLD, found, tariff)


def test_a_card_free_exit_is_charged_and_opens() -> None:
    inside = session()
    # 08:00 to 10:10 is 2 h 10 min: five started half hours at 15 TWD (30 TWD an hour) = 75.
    decision = exit_of(inside)
    assert decision.action is Action.OPEN
    assert decision.settlement is Settlement.CHARGE
    assert decision.amount == 75
    assert decision.session == inside


def test_a_ticket_exit_pays_and_a_free_stay_opens() -> None:
    pay = exit_of(session(card_free=False))
    assert (pay.action, pay.settlement, pay.amount) == (Action.PAY, Settlement.AWAIT, 75)
    instant = exit_reading(when=ENTERED)
    free = exit_of(session(card_free=False), instant)
    assert (free.action, free.settlement, free.amount) == (Action.OPEN, Settlement.FREE, 0)


def test_an_exit_without_a_readable_tariff_calls_the_attendant() -> None:
    decision = exit_of(session(), tariff=None)
    assert (decision.action, decision.settlement, decision.amount) == (
        Action.ATTENDANT,
        Settlement.AWAIT,
        None,
    )
    assert Flag.FEE_UNKNOWN in decision.flags


def test_a_doubtful_exit_read_touches_no_session() -> None:
    read = exit_reading(confidence=0.5)
    decision = decide_exit(read, THRESHOLD, ExitMatch(session(), Match.EXACT), TARIFF)
    assert (decision.action, decision.settlement, decision.session) == (
        Action.ATTENDANT,
        Settlement.NONE,
        None,
    )
    assert decision.flags == (Flag.LOW_CONFIDENCE,)


def test_an_exit_with_no_session_calls_the_attendant() -> None:
    read = exit_reading("XYZ-9999")
    decision = decide_exit(read, THRESHOLD, match_exit(read, [session()]), TARIFF)
    assert (decision.action, decision.settlement) == (Action.ATTENDANT, Settlement.NONE)
    assert decision.flags == (Flag.NO_OPEN_SESSION,)


def test_a_fuzzy_exit_is_charged_and_says_so() -> None:
    read = exit_reading(None, text="A8C-1Z34")
    decision = decide_exit(read, THRESHOLD, match_exit(read, [session()]), TARIFF)
    assert (decision.action, decision.settlement, decision.match) == (
        Action.OPEN,
        Settlement.CHARGE,
        Match.FUZZY,
    )
    assert decision.flags == (Flag.INVALID_PLATE, Flag.FUZZY_MATCH)


def test_an_offline_exit_is_billed_as_the_gate_decided() -> None:
    # A ticket holder let out by an offline gate: the plate owes the fee (an unpaid bill).
    read = exit_reading(decided=Action.OPEN, late=True)
    left = exit_of(session(card_free=False), read)
    assert (left.action, left.settlement, left.amount) == (Action.OPEN, Settlement.BILL, 75)
    assert Flag.LEFT_WITHOUT_PAYING in left.flags
    # A card-free driver the gate sent to the pay station is not charged as well.
    paid = exit_of(session(), exit_reading(decided=Action.PAY))
    assert (paid.action, paid.settlement) == (Action.PAY, Settlement.AWAIT)
    assert Flag.NOT_CHARGED in paid.flags
    # A card-free exit the gate opened itself: charged as usual.
    opened = exit_of(session(), exit_reading(decided=Action.OPEN))
    assert (opened.settlement, opened.flags) == (Settlement.CHARGE, (Flag.GATE_DECIDED,))


def test_lateness_is_five_minutes_either_way_unless_replayed() -> None:
    now = ENTERED
    assert not is_late(now - timedelta(minutes=5), now, replayed=False)
    assert is_late(now - timedelta(minutes=5, seconds=1), now, replayed=False)
    assert is_late(now + timedelta(minutes=6), now, replayed=False)
    assert not is_late(now - timedelta(days=3), now, replayed=True)


exit_readings = st.builds(
    exit_reading,
    st.sampled_from(["ABC-1234", "A8C-1234", None]),
    text=st.sampled_from(["ABC-1234", "A8C-1234", "ABC1Z34"]),
    confidence=st.floats(min_value=0, max_value=1),
    decided=st.none() | st.sampled_from(sorted(EXIT_ACTIONS)),
)


@given(exit_readings, sessions_st, st.sampled_from([TARIFF, None]))
def test_exit_decisions_keep_their_invariants(
    read: Reading, candidates: list[OpenSession], tariff: Tariff | None
) -> None:
    found = match_exit(read, candidates)
    decision = decide_exit(read, THRESHOLD, found, tariff)
    assert decision.action in EXIT_ACTIONS
    if read.decided is not None:
        assert decision.action is read.decided
    if decision.settlement is Settlement.NONE:
        assert decision.session is None
    else:
        assert decision.session is found.session
    if decision.settlement is Settlement.CHARGE:
        assert decision.session is not None
        assert decision.session.card_free
        assert decision.amount is not None
        assert decision.action is Action.OPEN
    if decision.settlement in (Settlement.BILL, Settlement.FREE):
        assert decision.action is Action.OPEN
    if read.confidence < THRESHOLD and read.decided is None:
        assert (decision.action, decision.settlement) == (Action.ATTENDANT, Settlement.NONE)


@pytest.mark.parametrize("confidence", [0.0, 0.5, 0.7999])
def test_low_confidence_never_opens_by_itself(confidence: float) -> None:
    assert decide_entry(reading(confidence=confidence), THRESHOLD, holder(), []).action is (
        Action.ATTENDANT
    )
