"""``platebind tariff parse|fee|report``: read tariff texts, price a stay, measure coverage.

Pure commands: no database. A text that cannot be read completely for the vehicle type asked
about is a refusal (exit 1) naming the phrases; ``--json`` prints ``{code, title, detail, ...}``.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from tqdm import tqdm

from platebind.cli_support import AsJson, VehicleType, emit, refusals, table, when
from platebind.clock import parse_at
from platebind.plates import TariffClass
from platebind.tariffs.describe import describe_tariff
from platebind.tariffs.engine import compute_fee
from platebind.tariffs.feed import load_feed
from platebind.tariffs.payex import PayexReading, read_payex
from platebind.tariffs.report import coverage

tariff_app = typer.Typer(
    help="Tariffs: read lots' tariff texts, price stays.", no_args_is_help=True
)

Text = Annotated[str, typer.Argument(metavar="TEXT", help="A tariff text (payex), in Chinese.")]
Unlabeled = Annotated[
    TariffClass,
    typer.Option(
        "--unlabeled",
        case_sensitive=False,
        help="Whom a text that names no vehicle class prices.",
    ),
]
FeedFile = Annotated[
    Path,
    typer.Argument(metavar="FILE", exists=True, dir_okay=False, readable=True),
]


def register(app: typer.Typer) -> None:
    app.add_typer(tariff_app, name="tariff")


@tariff_app.command("parse")
def parse(text: Text, unlabeled: Unlabeled = TariffClass.CAR, as_json: AsJson = False) -> None:
    """Read a tariff text: per vehicle type, the tariff or what could not be read."""
    reading = read_payex(text, unlabeled=(unlabeled,))
    emit(reading.as_dict(), as_json, lambda _doc: _reading_text(reading))


def _reading_text(reading: PayexReading) -> str:
    lines: list[str] = []
    for tariff_class, result in reading.classes.items():
        lines.append(f"{tariff_class.value}: {result.status.value}")
        if result.tariff is not None:
            lines += [f"  {line}" for line in describe_tariff(result.tariff)]
        lines += [f"  could not read: {phrase}" for phrase in result.unread]
        lines += [f"  problem: {problem}" for problem in result.problems]
        lines += [f"  FareInfo conflict: {conflict}" for conflict in result.conflicts]
    return "\n".join(lines)


@tariff_app.command("fee")
def fee(
    text: Text,
    vehicle_type: VehicleType,
    entered: Annotated[datetime, typer.Option(parser=parse_at, metavar="ISO-8601")],
    exited: Annotated[datetime, typer.Option(parser=parse_at, metavar="ISO-8601")],
    unlabeled: Unlabeled = TariffClass.CAR,
    as_json: AsJson = False,
) -> None:
    """The fee of one stay under a tariff text, itemised."""
    with refusals(as_json):
        tariff = read_payex(text, unlabeled=(unlabeled,)).tariff_for(vehicle_type)
        result = compute_fee(tariff, vehicle_type, entered, exited)
    emit(result.as_dict(), as_json, _fee_text)


def _fee_text(doc: dict[str, Any]) -> str:
    head = (
        f"{doc['amount']} TWD for a {doc['tariff_class'].replace('_', ' ')} "
        f"from {when(doc['entered_at'])} to {when(doc['exited_at'])}"
    )
    rows = [(line["amount"], line["description"]) for line in doc["breakdown"]]
    return head + "\n" + table(["amount", "item"], rows)


@tariff_app.command("report")
def report(
    file: FeedFile,
    top: Annotated[int, typer.Option(min=1, help="How many unread phrases to list.")] = 20,
    as_json: AsJson = False,
) -> None:
    """Coverage of a Taipei lot file (TCMSV_alldesc.json): how many tariffs read in full."""
    with refusals(as_json):
        lots = load_feed(file)
    with _progress_bar(len(lots), as_json) as bar:
        result = coverage(lots, on_lot=bar.update)
    emit(result.as_dict(top), as_json, _report_text)


def _progress_bar(total: int, as_json: bool) -> tqdm[NoReturn]:
    # ``disable=None`` turns the bar off when stderr is not a terminal (logs, pipes).
    return tqdm(total=total, unit="lot", file=sys.stderr, disable=True if as_json else None)


def _report_text(doc: dict[str, Any]) -> str:
    rows = [
        (
            name,
            c["stated"],
            c["full"],
            f"{c['full_share']:.1%}",
            c["partial"],
            c["unread"],
            c["absent"],
            c["full_with_fare_info_conflict"],
        )
        for name, c in doc["classes"].items()
    ]
    headers = ["class", "stated", "full", "full %", "partial", "unread", "absent", "conflicts"]
    lines = [f"{doc['lots']} lots", table(headers, rows), "", "most common unread phrases:"]
    lines += [f"{u['lots']:5d}  {u['phrase']}" for u in doc["top_unread"]]
    return "\n".join(lines)
