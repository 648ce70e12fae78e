"""Cut-over rules with an injected clock: when requests take effect (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platebind.clock import TAIPEI, BusinessCalendar
from platebind.registry.rules import (
    BindingStatus,
    CutoverPolicy,
    binding_status,
    end_effective_at,
    request_effective_at,
)

LOTS = CutoverPolicy(cutover_minute=4 * 60, lead=timedelta(hours=1))
BUSINESS = CutoverPolicy(cutover_minute=4 * 60, lead=timedelta(hours=1), business_days_only=True)
NO_CLOSED_DAYS = BusinessCalendar()


def tpe(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TAIPEI)


@pytest.mark.parametrize(
    ("requested", "policy", "expected"),
    [
        # Thursday night: the next morning's cut-over.
        ("2026-11-26 23:59", LOTS, "2026-11-27 04:00"),
        # Just after a cut-over: a whole day later.
        ("2026-11-27 04:01", LOTS, "2026-11-28 04:00"),
        # The lead time pushes 03:30 past today's 04:00.
        ("2026-11-27 03:30", LOTS, "2026-11-28 04:00"),
        # Exactly lead before the cut-over still makes it ("at or after").
        ("2026-11-27 03:00", LOTS, "2026-11-27 04:00"),
        # Business days only: Friday 04:01 waits for Monday.
        ("2026-11-27 04:01", BUSINESS, "2026-11-30 04:00"),
        ("2026-11-26 23:59", BUSINESS, "2026-11-27 04:00"),
        # Across Constitution Day (Friday 2026-12-25, a Taiwan public holiday) and the weekend.
        ("2026-12-24 04:01", BUSINESS, "2026-12-28 04:00"),
        ("2026-12-24 04:01", LOTS, "2026-12-25 04:00"),
        ("2026-12-23 23:59", BUSINESS, "2026-12-24 04:00"),
        # Across Lunar New Year 2026 (2026-02-14..22 off).
        ("2026-02-13 04:01", BUSINESS, "2026-02-23 04:00"),
        # A make-up working Saturday (2024-02-17) counts as a business day.
        ("2024-02-16 04:01", BUSINESS, "2024-02-17 04:00"),
    ],
)
def test_bind_takes_effect_at_the_first_cutover_after_the_lead(
    requested: str, policy: CutoverPolicy, expected: str
) -> None:
    assert request_effective_at(tpe(requested), policy, NO_CLOSED_DAYS) == tpe(expected)


def test_a_typhoon_day_declared_closed_is_skipped() -> None:
    typhoon = BusinessCalendar([date(2026, 11, 27)])
    effective = request_effective_at(tpe("2026-11-26 23:59"), BUSINESS, typhoon)
    assert effective == tpe("2026-11-30 04:00")


def test_immediate_scope_takes_effect_at_once() -> None:
    policy = CutoverPolicy(immediate=True)
    at = tpe("2026-11-26 23:59")
    assert request_effective_at(at, policy, NO_CLOSED_DAYS) == at


@pytest.mark.parametrize(
    ("requested", "valid_from", "expected"),
    [
        # An active binding ends at the next cut-over after the lead.
        ("2026-11-26 23:59", "2026-11-20 04:00", "2026-11-27 04:00"),
        ("2026-11-27 04:01", "2026-11-20 04:00", "2026-11-28 04:00"),
        # A scheduled binding unbound before its start: the end equals its start (cancelled).
        ("2026-11-26 23:30", "2026-11-27 04:00", "2026-11-27 04:00"),
        # Too late to cancel (inside the lead): it runs one cycle and ends the next cut-over.
        ("2026-11-27 03:30", "2026-11-27 04:00", "2026-11-28 04:00"),
    ],
)
def test_unbind_ends_at_the_first_cutover_after_lead_and_start(
    requested: str, valid_from: str, expected: str
) -> None:
    end = end_effective_at(tpe(requested), tpe(valid_from), LOTS, NO_CLOSED_DAYS)
    assert end == tpe(expected)


def test_cutover_is_taipei_wall_clock_whatever_the_input_zone() -> None:
    utc_input = tpe("2026-11-26 23:59").astimezone(UTC)
    assert request_effective_at(utc_input, LOTS, NO_CLOSED_DAYS).astimezone(TAIPEI).hour == 4


@given(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)),
    st.integers(min_value=0, max_value=1439),
    st.integers(min_value=0, max_value=72 * 60),
    st.booleans(),
)
def test_effective_time_is_a_cutover_not_before_the_lead(
    naive: datetime, minute: int, lead_minutes: int, business: bool
) -> None:
    policy = CutoverPolicy(minute, timedelta(minutes=lead_minutes), business_days_only=business)
    requested = naive.replace(tzinfo=TAIPEI)
    effective = request_effective_at(requested, policy, NO_CLOSED_DAYS).astimezone(TAIPEI)
    assert effective >= requested + policy.lead
    assert (effective.hour * 60 + effective.minute, effective.second) == (minute, 0)
    # It is the first one: a day earlier would be too early (or not a business day).
    earlier = effective - timedelta(days=1)
    assert earlier < requested + policy.lead or (
        business and not NO_CLOSED_DAYS.is_business_day(earlier.date())
    )
    if business:
        assert NO_CLOSED_DAYS.is_business_day(effective.date())


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "at", "status"),
    [
        ("2026-11-27 04:00", None, "2026-11-26 12:00", BindingStatus.SCHEDULED),
        ("2026-11-27 04:00", None, "2026-11-27 04:00", BindingStatus.ACTIVE),
        ("2026-11-20 04:00", "2026-11-27 04:00", "2026-11-27 03:59", BindingStatus.ENDING),
        # Half-open: at exactly valid_to the binding is over.
        ("2026-11-20 04:00", "2026-11-27 04:00", "2026-11-27 04:00", BindingStatus.ENDED),
        ("2026-11-27 04:00", "2026-11-27 04:00", "2026-11-26 12:00", BindingStatus.CANCELLED),
        ("2026-11-27 04:00", "2026-11-27 04:00", "2026-11-28 12:00", BindingStatus.CANCELLED),
        # Scheduled wins over ending when both start and end are ahead.
        ("2026-11-27 04:00", "2026-11-28 04:00", "2026-11-26 12:00", BindingStatus.SCHEDULED),
    ],
)
def test_status_is_derived_from_time(
    valid_from: str, valid_to: str | None, at: str, status: BindingStatus
) -> None:
    end = None if valid_to is None else tpe(valid_to)
    assert binding_status(tpe(valid_from), end, tpe(at)) is status
