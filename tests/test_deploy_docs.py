"""The deployment guide and the files in ``deploy/`` name only real commands, options and
settings: each ``platebind ...`` they show is parsed by the real CLI (with ``--help``, so an
unknown command or option fails), and each ``PLATEBIND_*`` they set is a real setting (the
settings ignore unknown names, so a typo would otherwise pass silently)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from dotenv import dotenv_values
from typer.testing import CliRunner

from platebind.api import limits
from platebind.cli import app
from platebind.config import Settings
from platebind.doctor.settings import check_portal

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "deploy.md"
DEPLOY = ROOT / "deploy"
# Where a shell line stops being the command: pipes, lists, redirections, comments.
_COMMAND_END = re.compile(r"\s(?:\||;|&&|\|\||>|2>|#)")
_ENV_ASSIGNMENT = re.compile(r"^(?:[A-Z_]+=\S+\s+)+")


def _command(text: str) -> list[str] | None:
    """The arguments after ``platebind`` when ``text`` runs it (after env assignments, sudo or
    a path to the executable), else None."""
    text = _ENV_ASSIGNMENT.sub("", text.strip())
    match = re.match(r"^(?:sudo -u \w+ )?(?:\S*/bin/)?platebind (.*)$", text)
    if match is None:
        return None
    return shlex.split(_COMMAND_END.split(" " + match[1], maxsplit=1)[0])


def _guide_commands() -> list[list[str]]:
    text = GUIDE.read_text()
    candidates = re.findall(r"`([^`\n]+)`", text)
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            candidates += line.split(";")
    return [args for c in candidates if (args := _command(c)) is not None]


def _deploy_commands() -> list[list[str]]:
    found = []
    for path in sorted(DEPLOY.glob("*.service")) + [DEPLOY / "crontab.example"]:
        for line in path.read_text().splitlines():
            line = line.removeprefix("ExecStart=").lstrip("# ")
            # A crontab line: the schedule, then `...; set +a; <command> 2>&1 | logger ...`.
            for part in line.split(";"):
                args = _command(part)
                if args is not None:
                    found.append(args)
    return found


COMMANDS = sorted({tuple(a) for a in _guide_commands() + _deploy_commands()})


def test_the_guide_and_the_units_show_the_commands_an_operator_runs() -> None:
    """Guards the extraction itself: a broken pattern would find nothing and test nothing."""
    shown = {" ".join(c[:2]) for c in COMMANDS}
    for expected in (
        "db upgrade",
        "cycle run",
        "doctor --processes",
        "worker --once",
        "agent key-rotate",
        "agent webhook",
        "lot key",
        "roadside key",
        "portal notify",
        "portal purge",
        "vehicles import",
    ):
        assert expected in shown, sorted(shown)
    assert ("serve", "--host", "127.0.0.1", "--port", "%i", "--workers", "1", "--no-worker") in (
        COMMANDS
    )


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_shown_is_a_real_command_with_real_options(args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output


def test_every_setting_the_guide_and_the_env_file_name_exists() -> None:
    known = {f"PLATEBIND_{name.upper()}" for name in Settings.model_fields}
    named = set(re.findall(r"PLATEBIND_[A-Z_]*[A-Z]", GUIDE.read_text()))
    example = dotenv_values(DEPLOY / "platebind.env.example")
    named |= {name for name in example if name.startswith("PLATEBIND_")}
    assert named - known == set()
    assert "PLATEBIND_ID_HASH_KEY" in named


def test_the_env_file_example_is_a_valid_production_portal_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in dotenv_values(DEPLOY / "platebind.env.example").items():
        monkeypatch.setenv(name, value or "")
    settings = Settings()
    assert [f.status for f in check_portal(settings)] == ["ok", "ok"]
    assert settings.smtp_starttls is True
    assert settings.smtp_from.endswith("<no-reply@parking.example.gov.tw>")
    # Left empty on purpose: doctor fails until the operator sets a real key.
    assert settings.id_hash_key is not None
    assert settings.id_hash_key.get_secret_value() == ""


def _nginx_size(value: str) -> int:
    """nginx's ``1m`` / ``16m`` / ``512k`` (binary units) in bytes."""
    units = {"k": 1024, "m": 1024 * 1024, "g": 1024**3}
    return int(value[:-1]) * units[value[-1].lower()] if value[-1].isalpha() else int(value)


def test_nginx_refuses_exactly_the_bodies_the_application_refuses() -> None:
    """Smaller in nginx would refuse what the app accepts; larger would let an upload occupy a
    serve process only to be refused there."""
    conf = (DEPLOY / "nginx.conf").read_text()
    server_wide = re.search(r"\n    client_max_body_size (\w+);", conf)
    assert server_wide is not None
    assert _nginx_size(server_wide[1]) == limits.DEFAULT_BODY_LIMIT
    locations = re.findall(r"location ~ \^(\S+)\$ \{\s*client_max_body_size (\w+);", conf)
    assert len(locations) == len(limits.ALLOWANCES)
    for allowance in limits.ALLOWANCES:
        sample = allowance.path.pattern.replace("[^/]+", "2026-11-26")
        (size,) = [s for pattern, s in locations if re.fullmatch(pattern, sample)]
        assert _nginx_size(size) == allowance.limit
