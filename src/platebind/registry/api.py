"""Agents' binding and change-feed routes (``/v1/bindings``, ``/v1/scopes/...``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["bindings"])
