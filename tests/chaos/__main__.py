"""``python -m tests.chaos --database sqlite|postgresql|both --kills N --seed S [--json]``:
the long crash run (``make chaos``). Kills are shared out over the databases; the report is
printed as a table (or JSON) and the exit status is 1 when any invariant was violated."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from tests.chaos.harness import ChaosConfig, run_chaos
from tests.chaos.report import as_json, as_table
from tests.chaos.world import WorldSize

# The long run's world: more plates for the cycle to publish, bigger statement files.
LONG_WORLD = WorldSize(prebound=1000, export_lines=30_000, lots=3)
# Answered requests sent again at the end, a seeded sample (all of them would take minutes).
REPLAYS = 2000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--kills", type=int, default=60, help="In total, over the databases.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="The report as JSON on stdout.")
    parser.add_argument("--json-out", type=Path, help="Also write the JSON report here.")
    parser.add_argument("--keep", action="store_true", help="Keep the work directory (logs).")
    args = parser.parse_args(argv)
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    shares = [args.kills // len(databases) + (i < args.kills % len(databases))
              for i in range(len(databases))]  # fmt: skip
    reports = []

    with tqdm(total=args.kills, unit="kill", file=sys.stderr) as bar:
        for database, kills in zip(databases, shares, strict=True):
            bar.set_description(database)
            config = ChaosConfig(
                database, kills, seed=args.seed, size=LONG_WORLD, replays=REPLAYS,
                keep_workdir=args.keep,
            )  # fmt: skip

            def killed(scenario: str) -> None:
                bar.update(1)
                bar.set_postfix_str(scenario)

            reports.append(run_chaos(config, on_kill=killed))
    if args.json_out is not None:
        args.json_out.write_text(as_json(reports) + "\n")
    sys.stdout.write(as_json(reports) + "\n" if args.json else as_table(reports))
    return 1 if any(r.violations for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
