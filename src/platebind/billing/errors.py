"""Billing refusals, each with the stable ``code`` agents and scripts program against."""

from __future__ import annotations

from platebind.errors import DomainError, InvalidInput, NotFound


class ChargeNotFound(NotFound):
    code = "charge_not_found"
    title = "No such charge"


class ChargeAlreadySettled(DomainError):
    code = "charge_already_settled"
    title = "The charge is already settled with another outcome"
    status = 409


class ChargeNotCorrectable(DomainError):
    code = "charge_not_correctable"
    title = "Only a paid original charge can be corrected"
    status = 409


class CorrectionExceedsCharge(InvalidInput):
    code = "correction_exceeds_charge"
    title = "The corrections would exceed the charge"


class BillNotFound(NotFound):
    code = "bill_not_found"
    title = "No such bill"


class BillVoid(DomainError):
    code = "bill_void"
    title = "The bill is void"
    status = 409


class BillAlreadyPaid(DomainError):
    code = "bill_already_paid"
    title = "The bill is already paid"
    status = 409


class PaymentFailed(DomainError):
    """Raised by a payment step that could not collect the money; nothing is recorded."""

    code = "payment_failed"
    title = "The payment did not go through"
    status = 402


class StatementDayUnavailable(InvalidInput):
    code = "statement_day_unavailable"
    title = "There is no statement for that day"


class StatementNotFinal(DomainError):
    code = "statement_not_final"
    title = "The day is not over yet; its statement can still change"
    status = 409


class StatementCsvInvalid(InvalidInput):
    code = "statement_csv_invalid"
    title = "The uploaded statement CSV cannot be read"
