"""Registry refusals, each with the stable ``code`` agents program against."""

from __future__ import annotations

from platebind.errors import DomainError, InvalidInput, NotFound


class PlateBoundElsewhere(DomainError):
    code = "plate_bound_elsewhere"
    title = "The plate is bound to another agent in this scope"
    status = 409


class AgentNotAccredited(DomainError):
    code = "agent_not_accredited"
    title = "The agent is not accredited for this scope"
    status = 403


class AgentSuspended(DomainError):
    code = "agent_suspended"
    title = "The agent is suspended"
    status = 403


class InvalidPlateError(DomainError):
    code = "invalid_plate"
    title = "Invalid licence plate"
    status = 422


class TransferCodeInvalid(DomainError):
    code = "transfer_code_invalid"
    title = "The transfer code is not valid for this plate"
    status = 422


class TransferCodeExpired(DomainError):
    code = "transfer_code_expired"
    title = "The transfer code has expired"
    status = 422


class TransferCodeRateLimited(DomainError):
    code = "transfer_code_rate_limited"
    title = "Too many invalid transfer codes"
    status = 429


class ScopeNotFound(NotFound):
    code = "scope_not_found"
    title = "No such scope"


class AgentNotFound(NotFound):
    code = "agent_not_found"
    title = "No such agent"


class KeyNotFound(NotFound):
    code = "key_not_found"
    title = "No such live key"


class BindingNotFound(NotFound):
    code = "binding_not_found"
    title = "No such binding"


class AlreadyExists(DomainError):
    code = "already_exists"
    title = "Already exists"
    status = 409


class InvalidScopeSettings(InvalidInput):
    code = "invalid_scope_settings"
    title = "Invalid scope settings"
