"""Members: registration with e-mail, password and national ID; log-in; the plates they own.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended set).
The national ID becomes ``owner_key`` at once, with the same keyed hash as the vehicle registry,
so ownership is a comparison of two hashes and the ID itself is never stored.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platebind.errors import DomainError
from platebind.plates import InvalidNationalId
from platebind.portal.models import Member
from platebind.vehicles.models import Vehicle
from platebind.vehicles.service import check_key_fingerprint, owner_key

PASSWORD_MIN_LENGTH = 10
# argon2 hashes whatever it is given; a megabyte password would be a cheap way to burn CPU.
PASSWORD_MAX_LENGTH = 256
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s.\x00-\x1f\x7f]+(\.[^@\s.\x00-\x1f\x7f]+)+$")
LOCALES = ("zh_TW", "en")

_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("platebind-timing-equaliser")


class RegistrationInvalid(DomainError):
    """One or more fields refused; ``errors`` maps each field to a stable reason code."""

    code = "registration_invalid"
    title = "The registration was refused"
    status = 422


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    national_id: str
    locale: str = "zh_TW"


def canonical_email(email: str) -> str:
    return email.strip().lower()


def _field_errors(session: Session, form: Registration, key: str) -> tuple[dict[str, str], str]:
    errors: dict[str, str] = {}
    email = canonical_email(form.email)
    if len(email) > 254 or not EMAIL.match(email):
        errors["email"] = "email_invalid"
    elif session.scalar(select(func.count()).where(Member.email == email)):
        errors["email"] = "email_taken"
    if len(form.password) < PASSWORD_MIN_LENGTH:
        errors["password"] = "password_too_short"
    elif len(form.password) > PASSWORD_MAX_LENGTH:
        errors["password"] = "password_too_long"
    elif form.password.strip().lower() == email:
        errors["password"] = "password_is_email"
    owner = ""
    try:
        owner = owner_key(form.national_id, key)
    except InvalidNationalId:
        errors["national_id"] = "national_id_invalid"
    else:
        if session.scalar(select(func.count()).where(Member.owner_key == owner)):
            errors["national_id"] = "national_id_taken"
    return errors, owner


def register(session: Session, form: Registration, now: datetime, id_key: str) -> Member:
    """A new member, or ``registration_invalid`` naming every refused field."""
    check_key_fingerprint(session, id_key, now)
    errors, owner = _field_errors(session, form, id_key)
    if errors:
        raise RegistrationInvalid(
            "the registration was refused: " + ", ".join(sorted(errors)), errors=errors
        )
    member = Member(
        email=canonical_email(form.email),
        password_hash=_hasher.hash(form.password),
        owner_key=owner,
        locale=form.locale if form.locale in LOCALES else "zh_TW",
        registered_at=now,
    )
    session.add(member)
    session.flush()
    return member


def authenticate(session: Session, email: str, password: str) -> Member | None:
    """The member with this e-mail and password, else None (the same answer for either wrong).

    A hash made with older argon2 parameters is upgraded on a successful log-in.
    """
    if len(password) > PASSWORD_MAX_LENGTH:
        return None
    member = session.scalars(select(Member).where(Member.email == canonical_email(email))).first()
    try:
        _hasher.verify(member.password_hash if member else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if member is None:
        return None
    if _hasher.check_needs_rehash(member.password_hash):
        member.password_hash = _hasher.hash(password)
    return member


def get_member(session: Session, member_id: uuid.UUID) -> Member | None:
    return session.get(Member, member_id)


def owns(session: Session, member: Member, vehicle_type: str, plate: str) -> bool:
    """Whether the vehicle registry names the member as the plate's owner."""
    vehicle = session.get(Vehicle, (vehicle_type, plate))
    return vehicle is not None and vehicle.owner_id_hash == member.owner_key


def set_locale(member: Member, locale: str) -> None:
    if locale in LOCALES:
        member.locale = locale
