"""Administration pages: an agency's staff (agency admins), and agencies (platform admins)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from porchlight.domain.accounts import StaffRole
from porchlight.domain.agencies import AgencyKind
from porchlight.domain.errors import DomainError, NotFound, PermissionDenied
from porchlight.domain.geo import LatLon
from porchlight.domain.policies import require_platform_admin
from porchlight.entrypoints.deps import ActorDep, ContainerDep, SecurityDep, UowDep
from porchlight.entrypoints.web.render import render, see_other
from porchlight.services import accounts, commands, registration, staff

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


def _staff_page(request: Request, uow: UowDep, me: ActorDep, agency_id: UUID,
                status: int = 200, **extra) -> Response:
    agency, people = staff.agency_with_staff(uow, me, agency_id)
    return render(request, "agency_staff.html", status, agency=agency, people=people,
                  roles=list(StaffRole), **extra)


@router.get("/agency", response_class=HTMLResponse)
def my_agency(request: Request, uow: UowDep, me: ActorDep) -> Response:
    if me.agency_id is None:
        raise PermissionDenied("only agency staff have an agency page")
    return _staff_page(request, uow, me, me.agency_id)


@router.get("/agencies/{agency_id}/staff", response_class=HTMLResponse)
def agency_staff(request: Request, uow: UowDep, me: ActorDep, agency_id: UUID) -> Response:
    return _staff_page(request, uow, me, agency_id)


@router.post("/agencies/{agency_id}/staff", response_class=HTMLResponse)
def invite(request: Request, uow: UowDep, sec: SecurityDep, me: ActorDep, agency_id: UUID,
           email: Text, display_name: Text, role: Annotated[StaffRole, Form()]) -> Response:
    try:
        registration.invite_staff(uow, sec, me, agency_id=agency_id, email=email,
                                  display_name=display_name, role=role)
    except DomainError as error:
        if isinstance(error, PermissionDenied):
            raise
        return _staff_page(request, uow, me, agency_id, 422, error=error.message)
    return see_other(f"/agencies/{agency_id}/staff")


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


@router.get("/admin/agencies", response_class=HTMLResponse)
def admin_agencies(request: Request, uow: UowDep, me: ActorDep) -> Response:
    return render(request, "admin_agencies.html", agencies=staff.list_agencies(uow, me),
                  kinds=list(AgencyKind))


@router.post("/admin/agencies", response_class=HTMLResponse)
def create_agency(
    request: Request, uow: UowDep, me: ActorDep, name: Text,
    kind: Annotated[AgencyKind, Form()], center_lat: Annotated[float, Form()],
    center_lon: Annotated[float, Form()], radius_m: Annotated[int, Form()],
) -> Response:
    try:
        accounts.create_agency(uow, commands.CreateAgency(
            name, kind, LatLon(center_lat, center_lon), radius_m), me)
    except DomainError as error:
        if isinstance(error, PermissionDenied):
            raise
        return render(request, "admin_agencies.html", 422, error=error.message,
                      agencies=staff.list_agencies(uow, me), kinds=list(AgencyKind))
    return see_other("/admin/agencies")


@router.post("/admin/agencies/{agency_id}/verify")
def verify_agency(uow: UowDep, me: ActorDep, agency_id: UUID) -> Response:
    accounts.verify_agency(uow, commands.VerifyAgency(agency_id), me)
    return see_other("/admin/agencies")


@router.get("/dev/mail", response_class=HTMLResponse)
def dev_mail(request: Request, container: ContainerDep, me: ActorDep) -> Response:
    """The development mail log: what would have been e-mailed, for a signed-in platform
    admin only (it holds every account's confirmation and reset links). Absent elsewhere."""
    mailer = container.security.mailer
    if not container.settings.is_development or not hasattr(mailer, "read"):
        raise NotFound("the mail log exists only in development")
    require_platform_admin(me)
    return render(request, "dev_mail.html", messages=mailer.read())
