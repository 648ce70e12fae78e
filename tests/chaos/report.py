"""What a chaos run reports: kills per scenario, what the clients did, the webhooks, and every
invariant with its number of violations; as a table and as JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

SCENARIOS = ("steady", "cycle", "webhook", "export")
# Where each scenario's kill is aimed; a kill "lands" when that was under way at the time.
AIMED_AT = {
    "steady": "serve under load",
    "cycle": "cycle run after its imports",
    "webhook": "a delivery in flight",
    "export": "a statement file being written",
}
EXAMPLES = 3


@dataclass
class DatabaseReport:
    database: str
    seed: int
    kills: Counter[str] = field(default_factory=Counter)
    landed: Counter[str] = field(default_factory=Counter)
    server_pids: list[int] = field(default_factory=list)
    downtime_s: dict[str, float] = field(default_factory=dict)
    requests: dict[str, Any] = field(default_factory=dict)
    webhooks: dict[str, int] = field(default_factory=dict)
    export: dict[str, int] = field(default_factory=dict)
    invariants: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    phases_s: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, name: str, violations: list[str]) -> None:
        self.invariants[name] = len(violations)
        if violations:
            self.examples[name] = violations[:EXAMPLES]

    @property
    def violations(self) -> int:
        return sum(self.invariants.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "seed": self.seed,
            "kills": {s: self.kills[s] for s in SCENARIOS} | {"total": sum(self.kills.values())},
            "landed": {s: self.landed[s] for s in SCENARIOS},
            "server_pids": self.server_pids,
            "downtime_s": self.downtime_s,
            "requests": self.requests,
            "webhooks": self.webhooks,
            "export": self.export,
            "invariants": self.invariants,
            "violations": self.violations,
            "examples": self.examples,
            "phases_s": self.phases_s,
            "seconds": round(self.seconds, 1),
        }


def as_json(reports: list[DatabaseReport]) -> str:
    doc = {
        "runs": [r.as_dict() for r in reports],
        "kills": sum(sum(r.kills.values()) for r in reports),
        "violations": sum(r.violations for r in reports),
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def as_table(reports: list[DatabaseReport]) -> str:
    names = [r.database for r in reports]
    kills = [
        [s, AIMED_AT[s], *(f"{r.kills[s]} ({r.landed[s]} landed)" for r in reports)]
        for s in SCENARIOS
    ]
    kills.append(["total", "", *(str(sum(r.kills.values())) for r in reports)])
    req_rows = [
        [k, *(str(r.requests.get(k, "")) for r in reports)]
        for k in ("sent", "accepted", "refused", "retried", "replayed", "attempts",
                  "transport_errors", "unavailable_503")
    ]  # fmt: skip
    hook_rows = [
        [k, *(str(r.webhooks.get(k, "")) for r in reports)] for k in reports[0].webhooks
    ] + [[f"export {k}", *(str(r.export.get(k, "")) for r in reports)] for k in reports[0].export]
    inv_rows = [[k, *(str(r.invariants[k]) for r in reports)] for k in reports[0].invariants]
    other = [
        ["server processes", *(str(len(r.server_pids)) for r in reports)],
        ["downtime mean/max s", *(f"{r.downtime_s.get('mean', 0):.2f}/"
                                  f"{r.downtime_s.get('max', 0):.2f}" for r in reports)],
        ["seconds", *(f"{r.seconds:.0f}" for r in reports)],
        *([f"  {phase}", *(f"{r.phases_s.get(phase, 0):.0f}" for r in reports)]
          for phase in reports[0].phases_s),
    ]  # fmt: skip
    parts = [
        _table(["kills by scenario", "aimed at", *names], kills),
        _table(["requests", *names], req_rows + other),
        _table(["webhooks and export", *names], hook_rows),
        _table(["invariant (violations)", *names], inv_rows),
    ]
    examples = [
        f"{r.database} {name}: {text}"
        for r in reports
        for name, texts in r.examples.items()
        for text in texts
    ]
    total = sum(r.violations for r in reports)
    verdict = f"{sum(sum(r.kills.values()) for r in reports)} kills, {total} violations"
    return "\n\n".join([*parts, *(["\n".join(examples)] if examples else []), verdict]) + "\n"
