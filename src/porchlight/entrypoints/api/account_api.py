"""JSON endpoints for signed-in callers (session cookie plus CSRF header, or a Bearer token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from porchlight.accounts.domain.accounts import Account, StaffRole
from porchlight.accounts.domain.agencies import MAX_JURISDICTION_RADIUS_M, AgencyKind
from porchlight.accounts.services import accounts, staff
from porchlight.accounts.services.commands import CreateAgency
from porchlight.entrypoints.api.routes import ERROR_RESPONSES
from porchlight.entrypoints.api.schemas import AgencyOut
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import Flag, Latitude, Longitude, Whole, text, whole
from porchlight.footage.domain.cameras import (
    DEFAULT_RETENTION_DAYS,
    RETENTION_CHOICES_DAYS,
    Camera,
)
from porchlight.footage.services import cameras
from porchlight.footage.services.commands import RegisterCamera, SetCameraOptIn
from porchlight.kernel.domain.errors import PermissionDenied
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import require_staff

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["account"])


class MeOut(BaseModel):
    id: UUID
    email: str
    display_name: str
    kind: str
    agency_id: UUID | None
    staff_role: str | None
    email_verified: bool
    mfa_enabled: bool

    @classmethod
    def of(cls, account: Account) -> MeOut:
        return cls(id=account.id, email=account.email, display_name=account.display_name,
                   kind=account.kind.value, agency_id=account.agency_id,
                   staff_role=account.staff_role.value if account.staff_role else None,
                   email_verified=account.email_verified_at is not None,
                   mfa_enabled=account.has_mfa)


class CameraIn(BaseModel):
    name: str = text(1, 60)
    lat: Latitude
    lon: Longitude
    opted_in: Flag = False
    retention_days: Literal[RETENTION_CHOICES_DAYS] = DEFAULT_RETENTION_DAYS


class CameraPatch(BaseModel):
    opted_in: Flag


class CameraOut(BaseModel):
    id: UUID
    name: str
    lat: float
    lon: float
    opted_in: bool
    retention_days: int
    created_at: datetime

    @classmethod
    def of(cls, camera: Camera) -> CameraOut:
        return cls(id=camera.id, name=camera.name, lat=camera.lat, lon=camera.lon,
                   opted_in=camera.opted_in, retention_days=camera.retention_days,
                   created_at=camera.created_at)


class StaffOut(BaseModel):
    id: UUID
    display_name: str
    email: str
    role: str | None
    disabled: bool
    locked: bool


class AgencyIn(BaseModel):
    name: str = text(2, 120)
    kind: AgencyKind
    center_lat: Latitude
    center_lon: Longitude
    radius_m: Whole = whole(100, MAX_JURISDICTION_RADIUS_M)


@router.get("/me", response_model=MeOut)
def me(actor: ActorDep) -> MeOut:
    """Who the credential belongs to. The postal address is never part of any API answer."""
    return MeOut.of(actor)


@router.get("/me/cameras", response_model=list[CameraOut])
def my_cameras(uow: UowDep, actor: ActorDep) -> list[CameraOut]:
    return [CameraOut.of(c) for c in cameras.list_my_cameras(uow, actor)]


@router.post("/me/cameras", response_model=CameraOut, status_code=201)
def register_camera(body: CameraIn, uow: UowDep, actor: ActorDep) -> CameraOut:
    camera_id = cameras.register_camera(uow, actor, RegisterCamera(
        name=body.name, location=LatLon(body.lat, body.lon), opted_in=body.opted_in,
        retention_days=body.retention_days))
    return next(CameraOut.of(c) for c in cameras.list_my_cameras(uow, actor) if c.id == camera_id)


@router.patch("/cameras/{camera_id}", response_model=CameraOut)
def update_camera(camera_id: UUID, body: CameraPatch, uow: UowDep, actor: ActorDep) -> CameraOut:
    cameras.set_camera_opt_in(uow, actor, SetCameraOptIn(camera_id, body.opted_in))
    return next(CameraOut.of(c) for c in cameras.list_my_cameras(uow, actor) if c.id == camera_id)


@router.get("/agencies/{agency_id}/staff", response_model=list[StaffOut])
def agency_staff(agency_id: UUID, uow: UowDep, actor: ActorDep) -> list[StaffOut]:
    _, people = staff.agency_with_staff(uow, actor, agency_id)
    return [StaffOut(id=p.id, display_name=p.display_name, email=p.email,
                     role=p.staff_role.value if p.staff_role else None,
                     disabled=p.is_disabled, locked=p.is_locked) for p in people]


@router.post("/agencies", response_model=AgencyOut, status_code=201)
def create_agency(body: AgencyIn, uow: UowDep, actor: ActorDep) -> AgencyOut:
    agency_id = accounts.create_agency(uow, actor, CreateAgency(
        body.name, body.kind, LatLon(body.center_lat, body.center_lon), body.radius_m))
    return next(AgencyOut.of(a) for a in staff.list_agencies(uow, actor) if a.id == agency_id)


@router.get("/me/audit-openings")
def my_audit_openings(actor: ActorDep, container: ContainerDep) -> dict[str, Any]:
    """Every audit log commitment to an event about you, with the secret that opens it
    and its inclusion proof: check it with `porchlight audit open FILE --key KEY`."""
    return container.audit_openings(account_id=actor.id)


@router.get("/agency/audit-openings")
def agency_audit_openings(actor: ActorDep, container: ContainerDep) -> dict[str, Any]:
    """For a supervisor or agency admin: the commitments to your agency's staff in the
    public log (who did what), with their secrets and proofs."""
    staff = require_staff(actor)
    if staff.staff_role not in (StaffRole.SUPERVISOR, StaffRole.AGENCY_ADMIN):
        raise PermissionDenied("only a supervisor or agency admin may open these")
    return container.audit_openings(agency_id=staff.agency_id)
