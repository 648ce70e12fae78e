"""Open data shipped with platebind (the demo and the tests use it; a deployment imports the
city's current file instead)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).parent
TAIPEI_FEED = DATA_DIR / "taipei" / "TCMSV_alldesc-2025-07-27.json"
