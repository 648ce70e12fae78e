"""The demo world: a believable month of Taipei card-free parking, built through the services.

``build_demo_world`` plans a month of driver and agent activity with ``random.Random(seed)``,
then replays it day by day on a :class:`FixedClock` that walks from about 30 days before ``now``
up to ``now``: binds, unbinds, cancellations, queued binds, transfers with a transfer code, an
agent suspended for a few days (its plates taken over without a code) and reactivated, and
the nightly cycle after every cut-over. Nothing is inserted behind the services' backs, so the
world obeys every rule the API does. The plan is pure data; only its replay touches the
database, one transaction per simulated day.

``profiles`` holds the cast (scopes, agents, plates), ``story`` the plan, ``world`` the replay
and the summary.
"""

from platebind.demo.profiles import PLATE_COUNT
from platebind.demo.world import DatabaseNotEmpty, DemoSummary, build_demo_world

__all__ = ["PLATE_COUNT", "DatabaseNotEmpty", "DemoSummary", "build_demo_world"]
