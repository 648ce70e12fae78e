"""``Idempotency-Key`` on POST and DELETE: a retry gets the first answer, nothing runs twice.

The record is claimed first in the request's own transaction (``INSERT ... ON CONFLICT DO
NOTHING``): a concurrent request with the same key waits for the first to commit (PostgreSQL
blocks on the unique key; SQLite serialises writers), then finds its answer. A refusal is kept
too (rolled back with the work, then stored on its own), so a retry cannot turn a refusal into
a success; rate-limit refusals are not kept, so the client can retry them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import Header
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from platebind.api.deps import Principal
from platebind.api.errors import PROBLEM_MEDIA_TYPE
from platebind.api.models import IdempotencyRecord
from platebind.db import created_at_default, dialect_insert
from platebind.errors import DomainError, InvalidInput

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_PENDING = 0


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was used with a different request"
    status = 422


Outcome = tuple[int, dict[str, Any]]
# The header as a route parameter: every POST and DELETE route declares it the same way.
IdempotencyKey = Annotated[
    str | None,
    Header(alias=HEADER, description="Retry safely: the same key returns the first answer."),
]


def fingerprint(method: str, path: str, body: BaseModel | None = None) -> str:
    """What makes two requests "the same": method, path and the parsed body."""
    text = f"{method} {path}\n{body.model_dump_json() if body is not None else ''}"
    return hashlib.sha256(text.encode()).hexdigest()


def run_once(
    session: Session,
    caller: Principal,
    key: str | None,
    request_hash: str,
    work: Callable[[], Outcome],
) -> Response:
    """Run ``work`` unless this (credential, key) already has an answer; answer it either way."""
    if key is None:
        return _response(*_encoded(work()))
    if not _KEY.fullmatch(key):
        raise InvalidInput(f"{HEADER} must be 1-255 visible ASCII characters")
    if not _claim(session, caller.key_id, key, request_hash):
        return _replay(session, caller.key_id, key, request_hash)
    try:
        status, body = _encoded(work())
    except DomainError as exc:
        if exc.status != 429:
            _keep_refusal(exc, caller.key_id, key, request_hash)
        raise
    _store(session, caller.key_id, key, status, body)
    return _response(status, body)


def _encoded(outcome: Outcome) -> tuple[int, bytes]:
    status, body = outcome
    return status, orjson.dumps(body)


def _claim(session: Session, credential: str, key: str, request_hash: str) -> bool:
    return _insert(session, credential, key, request_hash, _PENDING, b"")


def _insert(
    session: Session,
    credential: str,
    key: str,
    request_hash: str,
    status: int,
    body: bytes,
) -> bool:
    """Insert the record unless the key is taken; True if this call inserted it."""
    stmt = (
        dialect_insert(session)(IdempotencyRecord)
        .values(
            credential_id=credential,
            key=key,
            request_hash=request_hash,
            status_code=status,
            response=body.decode(),
            created_at=created_at_default(),
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    )
    return session.execute(stmt).first() is not None


def _find(session: Session, credential: str, key: str) -> IdempotencyRecord:
    stmt = select(IdempotencyRecord).where(
        IdempotencyRecord.credential_id == credential, IdempotencyRecord.key == key
    )
    return session.scalars(stmt.execution_options(populate_existing=True)).one()


def _replay(session: Session, credential: str, key: str, request_hash: str) -> Response:
    record = _find(session, credential, key)
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            f"{HEADER} {key!r} was first used for a different request; use a new key"
        )
    response = _response(record.status_code, record.response.encode())
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _store(session: Session, credential: str, key: str, status: int, body: bytes) -> None:
    record = _find(session, credential, key)
    record.status_code = status
    record.response = body.decode()


def _keep_refusal(exc: DomainError, credential: str, key: str, request_hash: str) -> None:
    earlier = exc.aftermath

    def keep(session: Session) -> None:
        if earlier is not None:
            earlier(session)
        # A concurrent retry may have stored its own answer meanwhile; the first one stays.
        problem = orjson.dumps(exc.as_problem())
        _insert(session, credential, key, request_hash, exc.status, problem)

    exc.aftermath = keep


def _response(status: int, body: bytes) -> Response:
    media_type = PROBLEM_MEDIA_TYPE if status >= 400 else "application/json"
    return Response(body, status_code=status, media_type=media_type)
