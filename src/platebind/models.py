"""Imports every feature's tables so that Alembic sees one complete metadata."""

from __future__ import annotations


def import_all_models() -> None:
    import platebind.api.models  # noqa: F401
    import platebind.billing.models  # noqa: F401
    import platebind.parking.models  # noqa: F401
    import platebind.portal.models  # noqa: F401
    import platebind.ratelimit  # noqa: F401
    import platebind.registry.models  # noqa: F401
    import platebind.roadside.models  # noqa: F401
    import platebind.vehicles.models  # noqa: F401
    import platebind.webhooks.models  # noqa: F401
