"""Roadside refusals, each with the stable ``code`` wardens, meters and scripts program
against."""

from __future__ import annotations

from platebind.errors import DomainError, InvalidInput, NotFound


class SegmentNotFound(NotFound):
    code = "segment_not_found"
    title = "No such roadside segment"


class SegmentExists(DomainError):
    code = "segment_exists"
    title = "A segment with this id already exists"
    status = 409


class RoadsideBillInvalid(InvalidInput):
    """A bill that cannot be issued as sent (``reason`` says why; ``errors`` per line for a
    refused import)."""

    code = "roadside_bill_invalid"
    title = "The roadside bill cannot be issued"


class BillNumberReused(DomainError):
    code = "bill_no_reused"
    title = "This bill number was issued for another bill"
    status = 409


class RoadsideFileInvalid(InvalidInput):
    code = "roadside_file_invalid"
    title = "The bill file has invalid rows; nothing was imported"
