"""What each caller sees of legal demands: platform admins every demand (and the overdue
emergency disclosures, flagged on their dashboard), an agency's staff their agency's
(read-only; its supervisors document emergencies), and a resident the demands that
covered their footage or account — only once they have been told (``notice_sent_at``),
never during a court-ordered delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from porchlight.accounts.domain.accounts import Account, AccountKind, StaffRole
from porchlight.custody.domain.demands import ACCOUNT_DATA_FIELDS, LegalDemand
from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.services.demands import clips_of_owner, notice_text
from porchlight.footage.domain.cameras import Camera
from porchlight.kernel.domain.errors import NotFound
from porchlight.kernel.domain.policies import (
    Actor,
    require_agency_staff,
    require_platform_admin,
    require_resident,
)
from porchlight.kernel.services.ports import UnitOfWork


@dataclass(frozen=True)
class DemandView:
    demand: LegalDemand
    agency: str
    cameras: list[Camera]  # the covered cameras (as they are now)
    accounts: list[Account]  # the covered accounts (for platform admins only)
    items: list[EvidenceItem]  # what was delivered
    overdue: bool  # an emergency still undocumented 48 hours after its fulfilment
    notice_due_at: datetime | None
    may_document: bool  # the viewer may document this emergency now
    disclosed_fields: tuple[str, ...] = ACCOUNT_DATA_FIELDS


def _is_admin(actor: Actor) -> bool:
    return not isinstance(actor, Account) or actor.kind is AccountKind.PLATFORM_ADMIN


def list_demands(uow: UnitOfWork, actor: Actor) -> list[tuple[LegalDemand, str, bool]]:
    """Every demand (platform admins) or the caller's agency's (its staff), newest first,
    with the agency's name and whether it is overdue."""
    with uow.reading():
        if isinstance(actor, Account) and actor.kind is AccountKind.STAFF:
            staff = require_agency_staff(actor)
            demands = uow.demands.listed(staff.agency_id)
        else:
            require_platform_admin(actor)
            demands = uow.demands.listed()
        now, names = uow.clock.now(), {a.id: a.name for a in uow.agencies.list()}
        return [(d, names.get(d.agency_id, "?"), d.documentation_overdue(now)) for d in demands]


def agency_demands(uow: UnitOfWork, actor: Actor) -> list[tuple[LegalDemand, str, bool]]:
    """The caller's agency's demands (its staff only: the agency's pages)."""
    require_agency_staff(actor)
    return list_demands(uow, actor)


def get_demand(uow: UnitOfWork, actor: Actor, demand_id: UUID, *, as_agency: bool = False
               ) -> DemandView:
    """A demand, for platform admins or (``as_agency``: only) its agency's staff."""
    with uow.reading():
        demand = uow.demands.get(demand_id)
        if demand is None:
            raise NotFound("no such legal demand")
        admin = not as_agency and _is_admin(actor)
        if admin:
            require_platform_admin(actor)
        else:  # the agency sees its own demands, in every state; others' do not exist
            require_agency_staff(actor, demand.agency_id)
        cameras = [c for c in (uow.cameras.get(UUID(i)) for i in demand.camera_ids) if c]
        accounts = [a for a in (uow.accounts.get(UUID(i)) for i in demand.account_ids) if a] \
            if admin else []
        now = uow.clock.now()
        may_document = (not admin and demand.is_emergency and demand.fulfilled_at is not None
                        and demand.documented_at is None
                        and actor.staff_role in (StaffRole.SUPERVISOR, StaffRole.AGENCY_ADMIN))
        return DemandView(demand, uow.agencies.get(demand.agency_id).name, cameras, accounts,
                          list(uow.evidence.for_demand(demand.id)),
                          demand.documentation_overdue(now), demand.notice_due_at,
                          may_document)


def overdue_emergencies(uow: UnitOfWork, actor: Actor) -> list[tuple[LegalDemand, str]]:
    """Emergency disclosures their agency has not documented within 48 hours: the admin
    dashboard's flag."""
    return [(demand, agency) for demand, agency, overdue in list_demands(
        uow, require_platform_admin(actor)) if overdue]


@dataclass(frozen=True)
class OwnerNotice:
    """A demand as the resident it covered is told of it."""

    demand_type: str
    agency: str
    court: str | None
    docket: str | None
    coverage: str
    cameras: list[str]  # the owner's own covered cameras
    covers_from: datetime | None
    covers_to: datetime | None
    clips: int  # the owner's clips disclosed
    disclosed_on: datetime | None
    told_at: datetime
    text: str


def owner_notices(uow: UnitOfWork, actor: Actor) -> list[OwnerNotice]:
    """The demands that covered the resident, once they have been told, newest first."""
    with uow.reading():
        resident = require_resident(actor)
        mine = str(resident.id)
        notices = []
        for demand in uow.demands.noticed():
            if mine not in demand.owner_ids:
                continue
            cameras = [c for c in (uow.cameras.get(UUID(i)) for i in demand.camera_ids)
                       if c is not None and c.owner_id == resident.id]
            notices.append(OwnerNotice(
                demand.demand_type.label, uow.agencies.get(demand.agency_id).name,
                demand.court, demand.docket, demand.coverage.value, [c.name for c in cameras],
                demand.covers_from, demand.covers_to,
                clips_of_owner(uow, demand, resident.id), demand.delivered_at,
                demand.notice_sent_at, notice_text(uow, demand, resident.id)))
        return notices
