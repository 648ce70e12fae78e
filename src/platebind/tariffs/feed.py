"""The City of Taipei's parking-lot feed (``TCMSV_alldesc.json``): reading the file and the
facts of one lot that reading its tariff text needs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from platebind.plates import TariffClass
from platebind.tariffs.errors import TariffFileInvalid
from platebind.tariffs.payex import PayexReading, read_payex


def load_feed(path: Path) -> list[dict[str, Any]]:
    """The lots of the file: ``{"data": {"park": [ {...}, ... ]}}``, each with ``id`` and
    ``payex``; anything else is a :class:`TariffFileInvalid` naming what is wrong."""
    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
    except RecursionError as exc:
        raise TariffFileInvalid(f"{path} is not a readable JSON file: nested too deeply") from exc
    except (OSError, ValueError) as exc:  # not UTF-8, not JSON, a number of 4,300+ digits
        raise TariffFileInvalid(f"{path} is not a readable JSON file: {exc}") from exc
    data = document.get("data") if isinstance(document, dict) else None
    lots = data.get("park") if isinstance(data, dict) else None
    if not isinstance(lots, list):
        raise TariffFileInvalid(f"{path} has no data.park list of parking lots")
    for index, lot in enumerate(lots):
        if not isinstance(lot, dict) or not isinstance(lot.get("id"), str) or not lot["id"]:
            raise TariffFileInvalid(f"{path}: lot {index + 1} has no id")
        if not isinstance(lot.get("payex", ""), str):
            raise TariffFileInvalid(f"{path}: lot {lot['id']} has a payex that is not text")
    return lots


def capacity(lot: Mapping[str, Any], field: str) -> int | None:
    """A capacity of the feed: ``-9``, missing or not a number is unknown (None)."""
    value = lot.get(field)
    try:
        count = int(value) if value is not None and str(value).strip() != "" else None
    except (ValueError, TypeError, OverflowError):  # text, a list or an object, 1e999
        return None
    return None if count is None or count < 0 else count


def unlabeled_classes(lot: Mapping[str, Any]) -> tuple[TariffClass, ...]:
    """Whom a text that names no vehicle class prices: the motorcycles of a lot that has only
    motorcycle spaces, otherwise the cars (the feed names motorcycles when they pay)."""
    cars, motorcycles = capacity(lot, "totalcar"), capacity(lot, "totalmotor")
    if not cars and motorcycles:
        return (TariffClass.MOTORCYCLE,)
    return (TariffClass.CAR,)


def read_lot_tariffs(lot: Mapping[str, Any]) -> PayexReading:
    fare_info = lot.get("FareInfo")
    return read_payex(
        str(lot.get("payex") or ""),
        fare_info if isinstance(fare_info, Mapping) and fare_info else None,
        unlabeled=unlabeled_classes(lot),
    )
