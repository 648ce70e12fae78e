"""Parking tests: the real Taipei feed (read once) and a scope to import it into."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from platebind.parking import service
from platebind.registry import scopes
from tests.conftest import ADMIN, Db
from tests.tariffs.helpers import taipei_feed

SCOPE = "tpe-lots"


@pytest.fixture(scope="session")
def feed_lots() -> list[dict[str, Any]]:
    """The 1,680 lots of the real feed, as the file has them (copy before changing one)."""
    return service.read_feed(taipei_feed())


@pytest.fixture
def lots(feed_lots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return copy.deepcopy(feed_lots)


@pytest.fixture
def scoped_db(db: Db) -> Db:
    """A migrated database with the ``tpe-lots`` scope."""
    with db.tx() as session:
        scopes.add_scope(
            session, db.clock, ADMIN, scope_id=SCOPE, name="臺北市公有停車場", kind="lots"
        )
    return db
