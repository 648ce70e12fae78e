"""Tariff refusals, each with the stable ``code`` scripts and the API program against."""

from __future__ import annotations

from platebind.errors import DomainError, InvalidInput


class TariffInvalid(InvalidInput):
    """A tariff document that is not well formed or contradicts itself (gaps, overlaps)."""

    code = "tariff_invalid"
    title = "Invalid tariff"


class StayInvalid(InvalidInput):
    """A stay the fee engine cannot price: naive times, or an exit before the entry."""

    code = "stay_invalid"
    title = "Invalid stay"


class TariffNotInForce(DomainError):
    """No version of the tariff for this tariff class is in force at the entry time."""

    code = "tariff_not_in_force"
    title = "No tariff in force"
    status = 404


class TariffUnreadable(DomainError):
    """A tariff text that could not be read completely for the requested tariff class."""

    code = "tariff_unreadable"
    title = "The tariff text could not be read completely"
    status = 422


class NoFare(DomainError):
    """The tariff text states no fare at all for the requested tariff class."""

    code = "tariff_no_fare"
    title = "The tariff states no fare for this vehicle type"
    status = 422


class TariffFileInvalid(InvalidInput):
    """A lot file (the Taipei open-data feed) that does not have the expected shape."""

    code = "tariff_file_invalid"
    title = "Invalid parking-lot file"
