"""``platebind agent webhook ...``: the authority sets an agent's webhook endpoint."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from platebind.cli_support import (
    AsJson,
    At,
    DatabaseUrl,
    IdArgument,
    command_clock,
    emit,
    open_session,
)
from platebind.registry.cli_shared import admin_actor
from platebind.webhooks import service
from platebind.webhooks.schemas import WebhookEndpointCreated

webhook_app = typer.Typer(help="The agent's webhook endpoint.", no_args_is_help=True)


def register(agent_app: typer.Typer) -> None:
    """Add ``webhook`` to the ``agent`` command group."""
    agent_app.add_typer(webhook_app, name="webhook")


@webhook_app.command("set")
def webhook_set(
    agent_id: IdArgument,
    url: Annotated[str, typer.Argument(metavar="URL", help="https://... where events go.")],
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Set where the agent's events are sent; print the new signing secret (shown once).

    Setting it again rotates the secret: events not yet sent are signed with the new one.
    """
    with open_session(database_url, as_json) as session:
        endpoint, secret = service.set_endpoint(
            session, command_clock(at), admin_actor(), agent_id, url
        )
    doc = WebhookEndpointCreated(url=endpoint.url, secret=secret).model_dump(mode="json")

    def text(d: dict[str, Any]) -> str:
        return (
            f"webhooks for {agent_id} go to {d['url']}\n"
            f"signing secret (shown only once; store it now):\n{d['secret']}"
        )

    emit(doc, as_json, text)
