"""What a check finds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    message: str
    fix: str | None = None


def cause_of(exc: BaseException) -> str:
    """The driver's message on one line (psycopg's span several), never a traceback."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())
