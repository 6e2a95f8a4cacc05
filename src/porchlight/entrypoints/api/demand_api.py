"""JSON API for legal demands, for platform admins: record, list, read, fulfil, withdraw.
An agency's staff read their agency's demands and document emergencies on their pages
(``/legal-demands``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from porchlight.custody.services import demand_views, demands
from porchlight.custody.services.commands import FulfilLegalDemand, WithdrawLegalDemand
from porchlight.entrypoints.api.routes import ERROR_RESPONSES
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import LegalDemandIn
from porchlight.kernel.domain.policies import require_platform_admin

router = APIRouter(prefix="/api/v1/admin/legal-demands", responses=ERROR_RESPONSES,
                   tags=["legal demands"])


class LegalDemandOut(BaseModel):
    id: UUID
    demand_type: str
    agency_id: UUID
    court: str | None
    docket: str | None
    coverage: str
    account_ids: list[UUID]
    camera_ids: list[UUID]
    covers_from: datetime | None
    covers_to: datetime | None
    notice_delayed_until: datetime | None
    retention_days: int
    status: str = Field(description="recorded, fulfilled or withdrawn")
    recorded_at: datetime
    fulfilled_at: datetime | None
    withdrawn_at: datetime | None
    delivered_at: datetime | None = Field(description="when the delivery job finished")
    clips_disclosed: int
    documented_at: datetime | None
    documentation_overdue: bool = Field(description="an emergency not documented within 48 "
                                        "hours of its fulfilment")
    notice_due_at: datetime | None = Field(description="when the owners are to be told")
    notice_sent_at: datetime | None
    evidence_ids: list[UUID] = []

    @classmethod
    def of(cls, view: demand_views.DemandView) -> LegalDemandOut:
        d = view.demand
        return cls(
            id=d.id, demand_type=d.demand_type.value, agency_id=d.agency_id, court=d.court,
            docket=d.docket, coverage=d.coverage.value,
            account_ids=[UUID(a) for a in d.account_ids],
            camera_ids=[UUID(c) for c in d.camera_ids], covers_from=d.covers_from,
            covers_to=d.covers_to, notice_delayed_until=d.notice_delayed_until,
            retention_days=d.retention_days, status=d.status.value, recorded_at=d.recorded_at,
            fulfilled_at=d.fulfilled_at, withdrawn_at=d.withdrawn_at,
            delivered_at=d.delivered_at, clips_disclosed=d.clips_disclosed,
            documented_at=d.documented_at, documentation_overdue=view.overdue,
            notice_due_at=view.notice_due_at, notice_sent_at=d.notice_sent_at,
            evidence_ids=[item.id for item in view.items])


def _out(uow: UowDep, actor: ActorDep, demand_id: UUID) -> LegalDemandOut:
    require_platform_admin(actor)
    return LegalDemandOut.of(demand_views.get_demand(uow, actor, demand_id))


@router.get("", response_model=list[LegalDemandOut])
def list_demands(uow: UowDep, actor: ActorDep) -> list[LegalDemandOut]:
    """Every legal demand, newest first."""
    require_platform_admin(actor)
    return [_out(uow, actor, demand.id)
            for demand, _, _ in demand_views.list_demands(uow, actor)]


@router.post("", response_model=LegalDemandOut, status_code=201)
def record(body: LegalDemandIn, uow: UowDep, container: ContainerDep,
           actor: ActorDep) -> LegalDemandOut:
    """Record a warrant, subpoena, court order or emergency request (422 beside the field
    that breaks a rule)."""
    demand_id = demands.record_demand(uow, container.requests_kit.policy, actor,
                                      body.command())
    return _out(uow, actor, demand_id)


@router.get("/{demand_id}", response_model=LegalDemandOut)
def get_demand(demand_id: UUID, uow: UowDep, actor: ActorDep) -> LegalDemandOut:
    return _out(uow, actor, demand_id)


@router.post("/{demand_id}/fulfil", response_model=LegalDemandOut)
def fulfil(demand_id: UUID, uow: UowDep, actor: ActorDep) -> LegalDemandOut:
    """Deliver what it covers to the agency: a job copies the clips (``delivered_at`` is
    set when it is done); 409 unless it is recorded."""
    demands.fulfil_demand(uow, actor, FulfilLegalDemand(demand_id))
    return _out(uow, actor, demand_id)


@router.post("/{demand_id}/withdraw", response_model=LegalDemandOut)
def withdraw(demand_id: UUID, uow: UowDep, actor: ActorDep) -> LegalDemandOut:
    """Nothing will ever be delivered for it; 409 unless it is recorded."""
    demands.withdraw_demand(uow, actor, WithdrawLegalDemand(demand_id))
    return _out(uow, actor, demand_id)
