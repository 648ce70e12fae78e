"""Jinja2 environments, one per language (so concurrent requests never share a translation),
with the helpers every page and e-mail uses to show times, agents and notices."""

from __future__ import annotations

from functools import cache, partial
from pathlib import Path
from typing import Any

import jinja2

from platebind.clock import parse_at
from platebind.portal.i18n import HTML_LANG, LOCALES, taipei_time, translations

TEMPLATES_DIR = Path(__file__).parent / "templates"


@cache
def environment(locale: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        locale=locale,
        html_lang=HTML_LANG[locale],
        locales=LOCALES,
        when=partial(taipei_time, locale=locale),
        notice_sentence=partial(notice_sentence, locale=locale),
    )
    return env


def render(template: str, locale: str, **context: Any) -> str:
    return environment(locale).get_template(template).render(**context)


def translate(locale: str, message: str, **values: Any) -> str:
    """``message`` in ``locale`` with ``%(name)s`` values filled in (for Python-side text;
    templates use ``_()``)."""
    return translations(locale).gettext(message) % values


def notice_sentence(kind: str, params: dict[str, Any], *, locale: str) -> str:
    """One sentence for a notice, in ``locale``: the same words in the portal and the e-mail."""
    if kind == "bill_due_soon":
        return translate(
            locale,
            "Bill %(number)s for %(plate)s (NT$%(amount)s) is due by %(time)s.",
            number=params["number"],
            plate=params["plate"],
            amount=params["amount"],
            time=taipei_time(parse_at(params["due_at"]), locale),
        )
    if kind == "change_effective":
        return _change_sentence(params, locale)
    raise ValueError(f"unknown notice kind {kind!r}")


def _change_sentence(params: dict[str, Any], locale: str) -> str:
    at = taipei_time(parse_at(params["effective_at"]), locale)
    scope = params.get("scope_name_en") if locale == "en" else None
    scope = scope or params["scope_name"]
    agent = (params.get("agent_name_en") if locale == "en" else None) or params.get("agent_name")
    if agent:
        return translate(
            locale,
            "Since %(time)s, %(plate)s in %(scope)s is bound to %(agent)s.",
            time=at,
            plate=params["plate"],
            scope=scope,
            agent=agent,
        )
    return translate(
        locale,
        "Since %(time)s, %(plate)s is not bound to any agent in %(scope)s.",
        time=at,
        plate=params["plate"],
        scope=scope,
    )
