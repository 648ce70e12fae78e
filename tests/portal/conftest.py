"""The portal on a real server (SQLite and PostgreSQL): a registry world, a vehicle registry
extract naming the owners, and a browser-like client that carries the session and CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from platebind.api.app import create_app
from platebind.config import Settings
from platebind.portal import sessions
from platebind.registry import service
from platebind.registry.audit import Actor
from platebind.registry.service import BindResult
from platebind.vehicles.service import import_extract
from tests.api.conftest import serve
from tests.conftest import ADMIN, Db
from tests.registry.world import build_world
from tests.vehicles.extracts import ALICE, BOB, KEY, extract

PASSWORD = "correct horse battery"
ALICE_EMAIL, BOB_EMAIL = "alice@example.tw", "bob@example.tw"
# Alice owns a car and a motorcycle, Bob a car; nobody owns the last car.
ALICE_CAR, ALICE_BIKE, BOB_CAR, NOBODYS_CAR = "ABC-1234", "MCL-5678", "BCD-2345", "XYZ-9876"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def portal_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "id_hash_key": SecretStr(KEY),
        # httpx (like every cookie jar) keeps Secure cookies off plain HTTP; the default (on)
        # is tested separately.
        "portal_secure_cookies": False,
        "portal_base_url": "https://portal.example.tw",
    }
    return Settings(**(values | overrides))


class PortalClient:
    """A browser stand-in: keeps cookies, reads the CSRF token from the last page."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10.0)
        self.csrf = ""
        self.email = ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.get(path, **kwargs)
        self._remember_token(response)
        return response

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        if not self.csrf:
            # Log-in and registration replace the session and its token: read the new one.
            self.get("/portal/", follow_redirects=True)
        response = self.http.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)
        self._remember_token(response)
        return response

    def _remember_token(self, response: httpx.Response) -> None:
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        elif "set-cookie" in response.headers:
            self.csrf = ""

    def register(self, email: str, national_id: str, password: str = PASSWORD) -> httpx.Response:
        self.email = email
        self.get("/portal/register")
        data = {"email": email, "password": password, "national_id": national_id}
        return self.post("/portal/register", data)

    def log_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        self.email = email
        self.get("/portal/login")
        return self.post("/portal/login", {"email": email, "password": password})

    def add_plate(self, plate: str, vehicle_type: str = "car") -> httpx.Response:
        return self.post("/portal/plates", {"vehicle_type": vehicle_type, "plate": plate})

    def page(self, path: str) -> httpx.Response:
        """GET that must answer 200."""
        response = self.get(path)
        assert response.status_code == 200, (response.status_code, response.text[:500])
        return response

    def close(self) -> None:
        self.http.close()


@dataclass
class PortalWorld:
    db: Db
    base_url: str
    agent_keys: dict[str, str]
    clients: list[PortalClient]

    def client(self) -> PortalClient:
        client = PortalClient(self.base_url)
        self.clients.append(client)
        return client

    def member(self, email: str, national_id: str) -> PortalClient:
        client = self.client()
        assert client.register(email, national_id).status_code == 303
        return client

    def advance(self, delta: timedelta) -> None:
        """Move the clock on; sessions idle longer than their limit log in again."""
        self.db.clock.advance(delta)
        if delta >= sessions.IDLE:
            for client in self.clients:
                if client.email:
                    assert client.log_in(client.email).status_code == 303

    def bind(self, agent: str, plate: str, scope: str = "tpe-lots", **kwargs: Any) -> BindResult:
        with self.db.tx() as s:
            return service.bind(
                s,
                self.db.clock,
                Actor("agent", agent),
                agent_id=agent,
                scope_id=scope,
                vehicle_type=kwargs.pop("vehicle_type", "car"),
                plate=plate,
                **kwargs,
            )

    def unbind(self, agent: str, plate: str, scope: str = "tpe-lots") -> None:
        """The agent unbinds the plate (it ends at the scope's next cut-over)."""
        with self.db.tx() as s:
            service.unbind_plate(
                s,
                self.db.clock,
                Actor("agent", agent),
                agent_id=agent,
                scope_id=scope,
                vehicle_type="car",
                plate=plate,
            )

    def agent_api(self, agent: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.agent_keys[agent]}"},
            timeout=10.0,
        )


def import_owners(db: Db) -> None:
    rows = (f"car,{ALICE_CAR},{ALICE}", f"motorcycle,{ALICE_BIKE},{ALICE}", f"car,{BOB_CAR},{BOB}")
    with db.tx() as s:
        import_extract(s, db.clock, ADMIN, extract(*rows), KEY)


@pytest.fixture
def portal(db: Db) -> Iterator[PortalWorld]:
    world = build_world(db)
    import_owners(db)
    app = create_app(db.url, clock=db.clock, settings=portal_settings())
    with serve(app) as server:
        portal_world = PortalWorld(db, server.base_url, world.keys, [])
        try:
            yield portal_world
        finally:
            for client in portal_world.clients:
                client.close()
