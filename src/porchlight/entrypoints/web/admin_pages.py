"""Administration pages: an agency's staff (agency admins), and agencies (platform admins)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from porchlight.accounts.domain.accounts import StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.accounts.services import accounts, registration, staff
from porchlight.accounts.services.commands import CreateAgency, VerifyAgency
from porchlight.entrypoints.deps import (
    ActorDep,
    CallerDep,
    ContainerDep,
    SecurityDep,
    UowDep,
    actor_of,
)
from porchlight.entrypoints.web.forms import FormModel, Posted, submit
from porchlight.entrypoints.web.render import render, see_other
from porchlight.kernel.domain.errors import NotFound, PermissionDenied
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import require_platform_admin

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


def _staff_page(request: Request, uow: UowDep, me: ActorDep, agency_id: UUID,
                status: int = 200, **extra) -> Response:
    agency, people = staff.agency_with_staff(uow, me, agency_id)
    return render(request, "agency_staff.html", status, agency=agency, people=people,
                  roles=list(StaffRole),
                  role_options=[(r.value, r.value.replace("_", " ")) for r in StaffRole],
                  **extra)


@router.get("/agency", response_class=HTMLResponse)
def my_agency(request: Request, uow: UowDep, me: ActorDep) -> Response:
    if me.agency_id is None:
        raise PermissionDenied("only agency staff have an agency page")
    return _staff_page(request, uow, me, me.agency_id)


@router.get("/agencies/{agency_id}/staff", response_class=HTMLResponse)
def agency_staff(request: Request, uow: UowDep, me: ActorDep, agency_id: UUID) -> Response:
    return _staff_page(request, uow, me, agency_id)


class InviteForm(FormModel):
    email: str = Field(min_length=1, max_length=254)
    display_name: str = Field(min_length=1, max_length=80)
    role: StaffRole


@router.post("/agencies/{agency_id}/staff", response_class=HTMLResponse)
def invite(request: Request, uow: UowDep, sec: SecurityDep, me: ActorDep, agency_id: UUID,
           values: Posted) -> Response:
    def send(form: InviteForm) -> Response:
        registration.invite_staff(uow, sec, me, agency_id=agency_id, email=form.email,
                                  display_name=form.display_name, role=form.role)
        return see_other(f"/agencies/{agency_id}/staff")

    return submit(InviteForm, values, send, lambda errors: _staff_page(
        request, uow, me, agency_id, 422, form=values, errors=errors))


@router.post("/accounts/{account_id}/role")
def set_role(uow: UowDep, me: ActorDep, account_id: UUID,
             role: Annotated[StaffRole, Form()]) -> Response:
    staff.set_role(uow, me, account_id, role)
    return see_other(_back(uow, me))


@router.post("/accounts/{account_id}/disable")
def disable(uow: UowDep, me: ActorDep, account_id: UUID) -> Response:
    staff.disable_account(uow, me, account_id)
    return see_other(_back(uow, me))


@router.post("/accounts/{account_id}/unlock")
def unlock(uow: UowDep, me: ActorDep, account_id: UUID) -> Response:
    staff.unlock_account(uow, me, account_id)
    return see_other(_back(uow, me))


def _back(uow: UowDep, me: ActorDep) -> str:
    return f"/agencies/{me.agency_id}/staff" if me.agency_id else "/admin/agencies"


def _agencies_page(request: Request, uow: UowDep, me: ActorDep, status: int = 200,
                   **extra) -> Response:
    return render(request, "admin_agencies.html", status, agencies=staff.list_agencies(uow, me),
                  kinds=[(k.value, k.label) for k in AgencyKind], **extra)


@router.get("/admin/agencies", response_class=HTMLResponse)
def admin_agencies(request: Request, uow: UowDep, me: ActorDep) -> Response:
    return _agencies_page(request, uow, me)


class AgencyForm(FormModel):
    name: str = Field(min_length=1, max_length=120)
    kind: AgencyKind
    center_lat: float = Field(ge=-90, le=90)
    center_lon: float = Field(ge=-180, le=180)
    radius_m: int = Field(ge=1)


@router.post("/admin/agencies", response_class=HTMLResponse)
def create_agency(request: Request, uow: UowDep, me: ActorDep, values: Posted) -> Response:
    def create(form: AgencyForm) -> Response:
        accounts.create_agency(uow, me, CreateAgency(
            form.name, form.kind, LatLon(form.center_lat, form.center_lon), form.radius_m))
        return see_other("/admin/agencies")

    return submit(AgencyForm, values, create, lambda errors: _agencies_page(
        request, uow, me, 422, form=values, errors=errors), aliases={"location": "center_lat"})


@router.post("/admin/agencies/{agency_id}/verify")
def verify_agency(uow: UowDep, me: ActorDep, agency_id: UUID) -> Response:
    accounts.verify_agency(uow, me, VerifyAgency(agency_id))
    return see_other("/admin/agencies")


@router.get("/dev/mail", response_class=HTMLResponse)
def dev_mail(request: Request, container: ContainerDep, caller: CallerDep) -> Response:
    """The development mail log: what would have been e-mailed, for a signed-in platform
    admin only (it holds every account's confirmation and reset links). Absent elsewhere,
    for everyone: the environment is checked before anyone is asked to sign in."""
    mailer = container.security.mailer
    if not container.settings.is_development or not hasattr(mailer, "read"):
        raise NotFound("the mail log exists only in development")
    require_platform_admin(actor_of(caller))
    return render(request, "dev_mail.html", messages=mailer.read())
