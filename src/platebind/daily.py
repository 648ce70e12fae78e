"""The daily job's other parts: features register what ``platebind cycle run`` must also do
(billing declines charges nobody settled; roadside bills go due, reminded, surcharged).

Infrastructure only: this module imports no feature; the root CLI registers them, so the
registry's ``cycle run`` can run them without depending on the features above it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

DailyJob = Callable[[Session, datetime], dict[str, Any]]
_JOBS: dict[str, DailyJob] = {}


def register(name: str, job: DailyJob) -> None:
    """Run ``job`` in every ``cycle run`` (in its transaction), reported under ``name``."""
    _JOBS[name] = job


def run_all(session: Session, now: datetime) -> dict[str, dict[str, Any]]:
    """Every registered job, in registration order; their summaries by name."""
    return {name: job(session, now) for name, job in _JOBS.items()}
