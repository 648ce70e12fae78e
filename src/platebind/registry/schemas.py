"""Public shapes of registry objects, shared by the CLI, the API and webhook payloads.

Times are ISO-8601 in Taipei time with their offset (``2026-11-28T04:00:00+08:00``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from platebind.clock import TAIPEI
from platebind.plates import TariffClass
from platebind.registry.models import Agent, AuditEntry, Binding, Scope
from platebind.registry.rules import BindingStatus, binding_status
from platebind.registry.scopes import format_cutover

if TYPE_CHECKING:
    from platebind.registry.feed import ChangeRow


def _local(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(TAIPEI)


class BindingOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    scope: str
    vehicle_type: str
    plate: str
    agent: str
    status: BindingStatus
    valid_from: datetime
    valid_to: datetime | None
    end_reason: str | None = None

    @classmethod
    def of(cls, binding: Binding, at: datetime) -> BindingOut:
        return cls(
            id=str(binding.id),
            scope=binding.scope_id,
            vehicle_type=binding.vehicle_type,
            plate=binding.plate,
            agent=binding.agent_id,
            status=binding_status(binding.valid_from, binding.valid_to, at),
            valid_from=_local(binding.valid_from),
            valid_to=_local(binding.valid_to),
            end_reason=binding.end_reason,
        )


class ChangeOut(BaseModel):
    """A change-feed row. ``agent`` is left out for readers that only need bound-or-not."""

    seq: int
    binding_id: str
    vehicle_type: str
    plate: str
    change: str
    valid_from: datetime
    valid_to: datetime | None
    reason: str | None
    recorded_at: datetime
    agent: str | None = None

    @classmethod
    def of(cls, change: ChangeRow, *, with_agent: bool) -> ChangeOut:
        return cls(
            seq=change.seq,
            binding_id=str(change.binding_id),
            vehicle_type=change.vehicle_type,
            plate=change.plate,
            change=change.change,
            valid_from=_local(change.valid_from),
            valid_to=_local(change.valid_to),
            reason=change.reason,
            recorded_at=_local(change.recorded_at),
            agent=change.agent_id if with_agent else None,
        )


class ScopeOut(BaseModel):
    id: str
    name: str
    name_en: str | None
    kind: str
    cutover: str
    lead_hours: float
    immediate: bool
    business_days_only: bool
    last_seq: int

    @classmethod
    def of(cls, scope: Scope) -> ScopeOut:
        return cls(
            id=scope.id,
            name=scope.name,
            name_en=scope.name_en,
            kind=scope.kind,
            cutover=format_cutover(scope.cutover_minute),
            lead_hours=scope.lead_seconds / 3600,
            immediate=scope.immediate,
            business_days_only=scope.business_days_only,
            last_seq=scope.last_seq,
        )


class AgentOut(BaseModel):
    id: str
    name: str
    name_en: str | None
    status: str
    scopes: list[str]
    support_phone: str | None = None
    support_url: str | None = None
    unbind_instructions: str | None = None
    unbind_url: str | None = None

    @classmethod
    def of(cls, agent: Agent, scopes: list[str]) -> AgentOut:
        return cls(
            id=agent.id,
            name=agent.name,
            name_en=agent.name_en,
            status=agent.status,
            scopes=scopes,
            support_phone=agent.support_phone,
            support_url=agent.support_url,
            unbind_instructions=agent.unbind_instructions,
            unbind_url=agent.unbind_url,
        )


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    scope: str | None
    object_id: str | None
    request_id: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        actor = (
            entry.actor_type if entry.actor_id is None else f"{entry.actor_type}:{entry.actor_id}"
        )
        return cls(
            at=_local(entry.at),
            actor=actor,
            action=entry.action,
            scope=entry.scope_id,
            object_id=entry.object_id,
            request_id=entry.request_id,
            detail=entry.detail,
        )


class BindRequest(BaseModel):
    """Bind a plate to the calling agent."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"scope": "tpe-lots", "vehicle_type": "car", "plate": "ABC-1234"}]
        },
    )

    scope: str = Field(min_length=1, max_length=40, examples=["tpe-lots"])
    vehicle_type: TariffClass = Field(
        description="`heavy_motorcycle` binds as `motorcycle` (one bike, one binding)."
    )
    plate: str = Field(
        min_length=1,
        max_length=32,
        description="Any common spelling: `abc1234`, `ABC 1234`, full-width; stored as `ABC-1234`.",
    )
    transfer_code: str | None = Field(
        default=None,
        max_length=32,
        description="The owner's transfer code, to take the plate over from another agent.",
    )


class BindingResponse(BindingOut):
    """A binding, and when the request that produced it takes effect."""

    effective_at: datetime | None = Field(
        default=None, description="When this request takes effect (Taipei time, with offset)."
    )

    @classmethod
    def of(
        cls, binding: Binding, at: datetime, effective_at: datetime | None = None
    ) -> BindingResponse:
        base = BindingOut.of(binding, at)
        return cls(**base.model_dump(), effective_at=_local(effective_at))


class BindingPage(BaseModel):
    items: list[BindingResponse]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class ChangePage(BaseModel):
    scope: str
    changes: list[ChangeOut]
    next_after: int = Field(description="Pass as `after` to continue.")
    has_more: bool
