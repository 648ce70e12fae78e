"""Driving the ``platebind`` CLI in-process, the way a script would."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from typer.testing import CliRunner, Result

from platebind.cli import app

SCOPE = "tpe-lots"
PLATE = "ABC-1234"


@dataclass
class Cli:
    """The CLI against one database; ``at`` is Taipei time unless it has an offset."""

    url: str
    runner: CliRunner = field(default_factory=CliRunner)

    def run(self, *args: str, at: str | None = None) -> Result:
        when = [] if at is None else ["--at", at]
        return self.runner.invoke(app, [*args, *when, "--database-url", self.url])

    def json(self, *args: str, at: str | None = None, exit_code: int = 0) -> Any:
        """The JSON document printed with ``--json``, after checking the exit status."""
        result = self.run(*args, "--json", at=at)
        assert result.exit_code == exit_code, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    def refusal(self, *args: str, at: str | None = None) -> dict[str, Any]:
        """A refused command's ``{code, title, detail, ...}`` (exit status 1)."""
        doc: dict[str, Any] = self.json(*args, at=at, exit_code=1)
        assert set(doc) >= {"code", "title", "detail"}
        return doc

    def bind(self, agent: str, plate: str = PLATE, *extra: str, at: str) -> Any:
        return self.json(
            "bind", "--agent", agent, "--scope", SCOPE, "--type", "car", "--plate", plate, *extra,
            at=at,
        )  # fmt: skip

    def lookup(self, plate: str = PLATE, *, at: str) -> Any:
        return self.json("lookup", "--scope", SCOPE, "--type", "car", "--plate", plate, at=at)


def build_cli_world(cli: Cli) -> dict[str, str]:
    """Scope ``tpe-lots`` (04:00 cut-over, 1 h lead) and agents cmj and pi; their API keys."""
    scope = cli.json(
        "scope", "add", SCOPE, "--name", "臺北市公有停車場", "--kind", "lots",
        at="2026-11-26T10:00",
    )  # fmt: skip
    assert (scope["id"], scope["cutover"], scope["lead_hours"]) == (SCOPE, "04:00", 1.0)
    keys = {}
    for agent_id, name in (("cmj", "車麻吉"), ("pi", "Pi 拍錢包")):
        agent = cli.json(
            "agent", "add", agent_id, "--name", name, "--scopes", SCOPE, at="2026-11-26T10:00"
        )
        assert (agent["id"], agent["name"], agent["scopes"]) == (agent_id, name, [SCOPE])
        keys[agent_id] = agent["api_key"]
    return keys
