"""Parking refusals, each with the stable ``code`` scripts and the API program against."""

from __future__ import annotations

from platebind.errors import InvalidInput, NotFound


class LotFileInvalid(InvalidInput):
    """A lot file whose lots do not all have the expected fields; nothing is imported."""

    code = "lot_file_invalid"
    title = "The parking-lot file is invalid; nothing was imported"


class LotNotFound(NotFound):
    code = "lot_not_found"
    title = "No such parking lot"
