"""Legal demand pages: the admin dashboard (which flags undocumented emergency
disclosures), platform admins record, fulfil (after a confirmation) and withdraw demands;
an agency's staff read their agency's, and its supervisors document an emergency."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from porchlight.accounts.services import staff
from porchlight.custody.domain.demands import (
    ACCOUNT_DATA_FIELDS,
    MAX_ACCOUNTS,
    MAX_CAMERAS,
    Coverage,
    DemandType,
)
from porchlight.custody.services import demand_views, demands
from porchlight.custody.services.commands import FulfilLegalDemand, WithdrawLegalDemand
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import DocumentationIn, LegalDemandIn
from porchlight.entrypoints.web.forms import Posted, submit
from porchlight.entrypoints.web.render import render, see_other
from porchlight.entrypoints.web.when import viewer_zone, zone_named
from porchlight.jobs.services import jobs
from porchlight.kernel.domain.policies import require_platform_admin
from porchlight.kernel.services.messagebus import demand_job_key

router = APIRouter(include_in_schema=False)


@router.get("/admin", response_class=HTMLResponse)
def dashboard(request: Request, uow: UowDep, me: ActorDep) -> Response:
    """The platform admin's dashboard: what needs attention first."""
    return render(request, "admin_dashboard.html",
                  overdue=demand_views.overdue_emergencies(uow, me))


def _list_page(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
               status: int = 200, **extra) -> Response:
    require_platform_admin(me)
    agencies = [(str(a.id), a.name) for a in staff.list_agencies(uow, me) if a.is_verified]
    return render(request, "legal_demands.html", status,
                  demands=demand_views.list_demands(uow, me), agencies=agencies,
                  types=[(t.value, t.label) for t in DemandType],
                  coverages=[(c.value, c.label) for c in Coverage],
                  max_retention=container.requests_kit.policy.max_retention_days,
                  max_cameras=MAX_CAMERAS, max_accounts=MAX_ACCOUNTS,
                  fields=ACCOUNT_DATA_FIELDS, **extra)


@router.get("/admin/legal-demands", response_class=HTMLResponse)
def list_page(request: Request, uow: UowDep, container: ContainerDep,
              me: ActorDep) -> Response:
    return _list_page(request, uow, container, me)


@router.post("/admin/legal-demands", response_class=HTMLResponse)
def record(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
           values: Posted) -> Response:
    require_platform_admin(me)

    def send(form: LegalDemandIn) -> Response:
        demand_id = demands.record_demand(uow, container.requests_kit.policy, me,
                                          form.command())
        return see_other(f"/admin/legal-demands/{demand_id}")

    zone = zone_named(str(values.get("tz", ""))) or viewer_zone(request)
    return submit(LegalDemandIn, values, send, lambda errors: _list_page(
        request, uow, container, me, 422, form=values, errors=errors), zone=zone)


def _view(request: Request, uow: UowDep, me: ActorDep, demand_id: UUID, status: int = 200,
          *, admin: bool, **extra) -> Response:
    found = demand_views.get_demand(uow, me, demand_id, as_agency=not admin)
    job = jobs.job_state(uow, demand_job_key(demand_id))
    return render(request, "legal_demand.html", status, found=found, job=job, admin=admin,
                  **extra)


@router.get("/admin/legal-demands/{demand_id}", response_class=HTMLResponse)
def admin_view(request: Request, uow: UowDep, me: ActorDep, demand_id: UUID) -> Response:
    require_platform_admin(me)
    return _view(request, uow, me, demand_id, admin=True)


@router.get("/admin/legal-demands/{demand_id}/fulfil", response_class=HTMLResponse)
def confirm_fulfil(request: Request, uow: UowDep, me: ActorDep, demand_id: UUID) -> Response:
    require_platform_admin(me)
    found = demand_views.get_demand(uow, me, demand_id)
    return render(request, "confirm.html", title="Fulfil this legal demand?",
                  message=f"{found.agency} will receive what this "
                          f"{found.demand.demand_type.label} covers, as evidence it keeps "
                          f"{found.demand.retention_days} days. This cannot be undone.",
                  action=f"/admin/legal-demands/{demand_id}/fulfil",
                  confirm_label="Yes, fulfil it", back=f"/admin/legal-demands/{demand_id}")


@router.post("/admin/legal-demands/{demand_id}/fulfil")
def fulfil(uow: UowDep, me: ActorDep, demand_id: UUID) -> Response:
    demands.fulfil_demand(uow, me, FulfilLegalDemand(demand_id))
    return see_other(f"/admin/legal-demands/{demand_id}")


@router.post("/admin/legal-demands/{demand_id}/withdraw")
def withdraw(uow: UowDep, me: ActorDep, demand_id: UUID) -> Response:
    demands.withdraw_demand(uow, me, WithdrawLegalDemand(demand_id))
    return see_other(f"/admin/legal-demands/{demand_id}")


# ---- the agency's side -----------------------------------------------------------------------


@router.get("/legal-demands", response_class=HTMLResponse)
def agency_list(request: Request, uow: UowDep, me: ActorDep) -> Response:
    return render(request, "legal_demands_agency.html",
                  demands=demand_views.agency_demands(uow, me))


@router.get("/legal-demands/{demand_id}", response_class=HTMLResponse)
def agency_view(request: Request, uow: UowDep, me: ActorDep, demand_id: UUID) -> Response:
    return _view(request, uow, me, demand_id, admin=False)


@router.post("/legal-demands/{demand_id}/documentation", response_class=HTMLResponse)
def document(request: Request, uow: UowDep, me: ActorDep, demand_id: UUID,
             values: Posted) -> Response:
    def send(form: DocumentationIn) -> Response:
        demands.document_emergency(uow, me, form.command(demand_id))
        return see_other(f"/legal-demands/{demand_id}")

    demand_views.get_demand(uow, me, demand_id, as_agency=True)  # others': not found
    return submit(DocumentationIn, values, send, lambda errors: _view(
        request, uow, me, demand_id, 422, admin=False, form=values, errors=errors))
