"""Refusals of the gates and sessions, each with the stable ``code`` lots program against."""

from __future__ import annotations

from platebind.errors import DomainError, InvalidInput, NotFound


class EventIdReused(DomainError):
    """An event id the lot already used for another read (a repeat must be the same read)."""

    code = "event_id_reused"
    title = "The event id was already used for another read"
    status = 422


class EventTimeInvalid(InvalidInput):
    code = "event_time_invalid"
    title = "The event's time is not plausible"


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = "No such parking session"


class SessionClosed(DomainError):
    code = "session_closed"
    title = "The parking session is already closed otherwise"
    status = 409
