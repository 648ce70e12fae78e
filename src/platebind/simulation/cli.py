"""``platebind simulate``: realistic LPR traffic through the real gate API."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer
from tqdm import tqdm

from platebind.cli_support import (
    AsJson,
    At,
    DatabaseUrl,
    command_clock,
    emit,
    refusals,
    resolve_database_url,
)
from platebind.simulation.run import Plan, simulate


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)


def simulate_command(
    lots: Annotated[int, typer.Option(min=1, max=2000, help="How many lots.")] = 10,
    hours: Annotated[float, typer.Option(min=0.1, max=24 * 31, help="Simulated hours.")] = 24.0,
    rate: Annotated[
        float, typer.Option(min=0.0, max=1000.0, help="Arrivals per lot per hour at the peak.")
    ] = 12.0,
    seed: Annotated[int, typer.Option(help="Same seed, same traffic.")] = 7,
    url: Annotated[
        str | None,
        typer.Option("--url", help="A running server (default: one started here)."),
    ] = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Drive LPR traffic at real lots (imported with `lot import-taipei`): entries and exits
    by time of day, stay lengths, misreads; the traffic ends at --at (default now)."""
    end = command_clock(at).now()
    plan = Plan(lots=lots, hours=hours, rate=rate, start=end - timedelta(hours=hours), seed=seed)
    bar = tqdm(total=0, unit="event", desc="simulate", disable=as_json, leave=False)

    def planned(total: int) -> None:
        bar.total = total
        bar.refresh()

    with refusals(as_json), bar:
        summary = simulate(
            resolve_database_url(database_url),
            plan,
            base_url=url,
            progress=bar.update,
            on_plan=planned,
        )
    emit(summary.as_dict(), as_json, _text)


def _text(doc: dict[str, Any]) -> str:
    actions = ", ".join(f"{name} {count}" for name, count in sorted(doc["actions"].items()))
    return (
        f"{doc['events']} events at {len(doc['lots'])} lots in {doc['seconds']} s "
        f"({doc['events_per_second']}/s): {actions}\n"
        f"{doc['charges']} charges, NT${doc['charged_amount']}: {doc['paid']} paid, "
        f"{doc['declined']} declined"
    )
