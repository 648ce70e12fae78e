"""The gate's rules, pure: facts in, decision out (DESIGN "Parking", "Offline lots").

Nothing here reads the database or the clock. ``parking.gates`` gathers the facts (the lot,
the plate's holder at the event's time, the sessions open in the lot), calls these functions
and writes what they decided, so the I/O around a decision can change without touching it.

- :func:`decide_entry`: ``open`` (card-free session) for a plate with an active binding of an
  active agent, else ``ticket``; ``attendant`` for an unreadable plate or a read under the lot's
  confidence threshold. A plate already inside is flagged, never closed.
- :func:`match_exit` then :func:`decide_exit`: the newest open session of the exact plate, else
  the one session the read fits allowing the LPR confusions (also for a read that is not a
  valid plate: most confusions turn a letter into a digit); the fee from the lot's tariff for
  the session's tariff class; card-free → ``open`` and a charge, otherwise ``pay``; no fully
  read tariff, no session or a read under the threshold → ``attendant``.
- A gate that decided by itself (``decided_action``, an offline lot) is followed: the decision
  is what the gate did, and the server's own view only adds flags.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from platebind.errors import DomainError
from platebind.plates import TariffClass
from platebind.tariffs.engine import compute_fee
from platebind.tariffs.model import Tariff

# How far an event's ``at`` may be from its receipt before it is flagged ``late``.
LATE_AFTER = timedelta(minutes=5)
# The characters licence-plate readers mistake for one another; each group is one class.
CONFUSION_CLASSES = ("0ODQ", "8B", "1I", "5S", "2Z")
_FOLD = str.maketrans({ch: group[0] for group in CONFUSION_CLASSES for ch in group})


class Gate(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class Action(StrEnum):
    OPEN = "open"
    TICKET = "ticket"
    ATTENDANT = "attendant"
    PAY = "pay"


ENTRY_ACTIONS = frozenset({Action.OPEN, Action.TICKET, Action.ATTENDANT})
EXIT_ACTIONS = frozenset({Action.OPEN, Action.PAY, Action.ATTENDANT})


class Flag(StrEnum):
    """Why a decision is not the plain one; listed in the answer and kept on the session."""

    LOW_CONFIDENCE = "low_confidence"
    INVALID_PLATE = "invalid_plate"
    LATE = "late"
    DUPLICATE_ENTRY = "duplicate_entry"
    AGENT_SUSPENDED = "agent_suspended"
    NO_OPEN_SESSION = "no_open_session"
    AMBIGUOUS_MATCH = "ambiguous_match"
    FUZZY_MATCH = "fuzzy_match"
    FEE_UNKNOWN = "fee_unknown"
    GATE_DECIDED = "gate_decided"
    GATE_DECISION_DIFFERS = "gate_decision_differs"
    OPENED_WITHOUT_BINDING = "opened_without_binding"
    LEFT_WITHOUT_PAYING = "left_without_paying"
    NOT_CHARGED = "not_charged"


class Match(StrEnum):
    EXACT = "exact"
    FUZZY = "fuzzy"


class Settlement(StrEnum):
    """What an exit does to its session's money."""

    NONE = "none"  # no session touched
    CHARGE = "charge"  # card-free: a charge to the agent bound at entry; session closed
    FREE = "free"  # nothing to pay; session closed
    AWAIT = "await"  # pay station or attendant; the lot closes the session later
    BILL = "bill"  # the car left without paying: an unpaid bill of the plate; session closed


# ---------------------------------------------------------------------------------------------
# Plates and LPR confusions


def fuzzy_key(text: str) -> str:
    """The read with every confusable character replaced by its class's first one and the
    hyphen dropped: two reads fit each other allowing the confusions iff their keys are equal
    (the classes are disjoint, so "fits" is an equivalence)."""
    return text.replace("-", "").translate(_FOLD)


def confusable(a: str, b: str) -> bool:
    return fuzzy_key(a) == fuzzy_key(b)


def is_late(at: datetime, received_at: datetime, replayed: bool) -> bool:
    """More than five minutes from its receipt, either way, and not marked as a replay."""
    return not replayed and abs(received_at - at) > LATE_AFTER


# ---------------------------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class Reading:
    """One LPR event as the rules need it. ``plate`` is the canonical plate, None when the read
    is not a valid plate; ``text`` is the read normalised (``plates.normalise_plate``)."""

    gate: Gate
    plate: str | None
    text: str
    tariff_class: TariffClass
    at: datetime
    confidence: float
    decided: Action | None = None
    late: bool = False


@dataclass(frozen=True)
class Holder:
    """The binding of the plate in the lot's scope at the event's time, and its agent."""

    binding_id: uuid.UUID
    agent_id: str
    agent_active: bool


@dataclass(frozen=True)
class OpenSession:
    id: uuid.UUID
    plate: str
    tariff_class: TariffClass
    entered_at: datetime
    card_free: bool
    agent_id: str | None


@dataclass(frozen=True)
class EntryDecision:
    action: Action
    flags: tuple[Flag, ...]
    # A session is opened for every entry the gate let in with a readable plate.
    opens_session: bool
    card_free: bool = False
    holder: Holder | None = None
    # Sessions of the same plate already inside: flagged ``duplicate_entry`` too.
    duplicates: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class ExitMatch:
    session: OpenSession | None
    match: Match | None
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class ExitDecision:
    action: Action
    flags: tuple[Flag, ...]
    settlement: Settlement
    session: OpenSession | None = None
    match: Match | None = None
    amount: int | None = None


def _flags(*groups: Sequence[Flag]) -> tuple[Flag, ...]:
    return tuple(dict.fromkeys(flag for group in groups for flag in group))


def _base_flags(reading: Reading) -> list[Flag]:
    flags = [Flag.LATE] if reading.late else []
    if reading.decided is not None:
        flags.append(Flag.GATE_DECIDED)
    return flags


def _unreadable(reading: Reading, threshold: float) -> Flag | None:
    """Why the read cannot be trusted, if so (an invalid plate first)."""
    if reading.plate is None:
        return Flag.INVALID_PLATE
    if reading.confidence < threshold:
        return Flag.LOW_CONFIDENCE
    return None


# ---------------------------------------------------------------------------------------------
# Entry


def decide_entry(
    reading: Reading, threshold: float, holder: Holder | None, inside: Sequence[OpenSession]
) -> EntryDecision:
    """Open card-free, give a ticket, or call the attendant; see the module.

    ``holder`` is the plate's binding at ``reading.at`` (None: unbound); ``inside`` the lot's
    open sessions of the plate's identity that the read may fit (exact ones are duplicates).
    A gate that decided by itself is followed; card-free still needs the binding.
    """
    flags = _base_flags(reading)
    unreadable = _unreadable(reading, threshold)
    bound = holder is not None and holder.agent_active
    if unreadable is not None:
        own = Action.ATTENDANT
        flags.append(unreadable)
    else:
        own = Action.OPEN if bound else Action.TICKET
    action = reading.decided or own
    if action is not own:
        flags.append(Flag.GATE_DECISION_DIFFERS)
    opens = action is not Action.ATTENDANT and reading.plate is not None
    if not opens:
        return EntryDecision(action, _flags(flags), opens_session=False)
    if holder is not None and not holder.agent_active:
        flags.append(Flag.AGENT_SUSPENDED)  # it cannot pay: a ticket, even if the gate opened
    card_free = action is Action.OPEN and bound
    if action is Action.OPEN and not bound:
        flags.append(Flag.OPENED_WITHOUT_BINDING)
    duplicates = tuple(s.id for s in inside if s.plate == reading.plate)
    if duplicates:
        flags.append(Flag.DUPLICATE_ENTRY)
    return EntryDecision(
        action=action,
        flags=_flags(flags),
        opens_session=True,
        card_free=card_free,
        holder=holder if card_free else None,
        duplicates=duplicates,
    )


# ---------------------------------------------------------------------------------------------
# Exit


def match_exit(reading: Reading, candidates: Sequence[OpenSession]) -> ExitMatch:
    """The session an exit read belongs to: the newest open session of the exact plate, else
    the only one the read fits allowing the LPR confusions. ``candidates`` are the lot's open
    sessions of the plate's identity; those entered after the exit cannot be it."""
    before = [s for s in candidates if s.entered_at <= reading.at]
    exact = [s for s in before if s.plate == reading.plate]
    if exact:
        newest = max(exact, key=lambda s: (s.entered_at, s.id.hex))
        return ExitMatch(newest, Match.EXACT)
    key = fuzzy_key(reading.text)
    fits = [s for s in before if fuzzy_key(s.plate) == key]
    if len(fits) == 1:
        return ExitMatch(fits[0], Match.FUZZY, (Flag.FUZZY_MATCH,))
    return ExitMatch(None, None, (Flag.AMBIGUOUS_MATCH if fits else Flag.NO_OPEN_SESSION,))


def fee_of(session: OpenSession, tariff: Tariff | None, exited_at: datetime) -> int | None:
    """The stay's fee, or None when the lot has no fully read tariff for the session's tariff
    class (or none in force at the entry): the fee is unknown, never guessed."""
    if tariff is None:
        return None
    try:
        return compute_fee(tariff, session.tariff_class, session.entered_at, exited_at).amount
    except DomainError:
        return None


def decide_exit(
    reading: Reading, threshold: float, found: ExitMatch, tariff: Tariff | None
) -> ExitDecision:
    """Charge card-free and open, ask to pay, or call the attendant; see the module.

    ``tariff`` is the lot's tariff for the matched session's tariff class (None: not read in
    full). A read that is not a valid plate can still find its session by fuzzy matching (the
    confusions mostly turn letters into digits); a read under the confidence threshold never
    touches a session, unless the gate decided by itself.
    """
    flags = _base_flags(reading)
    if reading.plate is None:
        flags.append(Flag.INVALID_PLATE)
    low = reading.confidence < threshold
    if low:
        flags.append(Flag.LOW_CONFIDENCE)
    session = found.session
    if session is None or (low and reading.decided is None):
        if session is None:
            flags.extend(found.flags)
        action = reading.decided or Action.ATTENDANT
        return ExitDecision(action, _flags(flags), Settlement.NONE)
    flags.extend(found.flags)
    amount = fee_of(session, tariff, reading.at)
    if amount is None:
        flags.append(Flag.FEE_UNKNOWN)
    own, settlement = _own_exit(session, amount, low)
    if reading.decided is not None and reading.decided is not own:
        flags.append(Flag.GATE_DECISION_DIFFERS)
        settlement = _followed_exit(reading.decided, session, amount, flags)
    action = reading.decided or own
    return ExitDecision(action, _flags(flags), settlement, session, found.match, amount)


def _own_exit(session: OpenSession, amount: int | None, low: bool) -> tuple[Action, Settlement]:
    if low or amount is None:
        return Action.ATTENDANT, Settlement.AWAIT
    if session.card_free:
        return Action.OPEN, Settlement.CHARGE
    if amount == 0:
        return Action.OPEN, Settlement.FREE
    return Action.PAY, Settlement.AWAIT


def _followed_exit(
    decided: Action, session: OpenSession, amount: int | None, flags: list[Flag]
) -> Settlement:
    """The money side of what the gate did, where it differs from the server's decision."""
    if decided is not Action.OPEN:
        if session.card_free:
            # The gate had the driver pay (or an attendant see to it): no charge as well.
            flags.append(Flag.NOT_CHARGED)
        return Settlement.AWAIT
    if amount is None:
        return Settlement.AWAIT
    if session.card_free:
        return Settlement.CHARGE
    if amount == 0:
        return Settlement.FREE
    flags.append(Flag.LEFT_WITHOUT_PAYING)
    return Settlement.BILL
