"""Domain errors: each carries a stable ``code`` and an HTTP status.

One handler renders them as RFC 9457 problems for the API, another as a message for the CLI or
portal; services only raise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from sqlalchemy.orm import Session

PROBLEM_BASE = "https://platebind.example/problems/"


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "Request refused"
    status: ClassVar[int] = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: dict[str, Any] = extra
        # Work that must be kept although the refused request is rolled back (e.g. counting a
        # failed transfer-code attempt). Run by the transaction owner in a fresh transaction.
        self.aftermath: Callable[[Session], None] | None = None

    def as_problem(self) -> dict[str, Any]:
        return {
            "type": f"{PROBLEM_BASE}{self.code}",
            "code": self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"
    status = 404


class InvalidInput(DomainError):
    code = "invalid_input"
    title = "Invalid input"
    status = 422
