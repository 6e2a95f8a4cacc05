"""A resident's cameras: register, opt in or out of agency requests, device tokens."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from porchlight.accounts.services import tokens
from porchlight.entrypoints.deps import ActorDep, UowDep
from porchlight.entrypoints.web.forms import FormModel, Posted, submit
from porchlight.entrypoints.web.render import render, see_other
from porchlight.footage.domain.cameras import RETENTION_CHOICES_DAYS
from porchlight.footage.services import cameras
from porchlight.footage.services.commands import RegisterCamera, SetCameraOptIn
from porchlight.kernel.domain.geo import LatLon

router = APIRouter(include_in_schema=False)


def _page(request: Request, uow: UowDep, me: ActorDep, status: int = 200, **extra) -> Response:
    mine = cameras.list_my_cameras(uow, me)
    devices = {camera.id: tokens.device_token_status(uow, me, camera.id) for camera in mine}
    return render(request, "cameras.html", status, cameras=mine, devices=devices,
                  retention_choices=RETENTION_CHOICES_DAYS,
                  retention_options=[(d, f"{d} days") for d in RETENTION_CHOICES_DAYS], **extra)


@router.get("/cameras", response_class=HTMLResponse)
def my_cameras(request: Request, uow: UowDep, me: ActorDep) -> Response:
    return _page(request, uow, me)


class CameraForm(FormModel):
    name: str = Field(min_length=1, max_length=60)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    retention_days: int = 60
    opted_in: bool = False


@router.post("/cameras", response_class=HTMLResponse)
def register_camera(request: Request, uow: UowDep, me: ActorDep, values: Posted) -> Response:
    def register(form: CameraForm) -> Response:
        cameras.register_camera(uow, me, RegisterCamera(
            name=form.name, location=LatLon(form.lat, form.lon), opted_in=form.opted_in,
            retention_days=form.retention_days))
        return see_other("/cameras")

    return submit(CameraForm, values, register,
                  lambda errors: _page(request, uow, me, 422, form=values, errors=errors),
                  aliases={"location": "lat"})


@router.post("/cameras/{camera_id}/opt-in")
def set_opt_in(uow: UowDep, me: ActorDep, camera_id: UUID,
               opted_in: Annotated[bool, Form()] = False) -> Response:
    cameras.set_camera_opt_in(uow, me, SetCameraOptIn(camera_id, opted_in))
    return see_other("/cameras")


@router.post("/cameras/{camera_id}/device-token", response_class=HTMLResponse)
def rotate_device_token(request: Request, uow: UowDep, me: ActorDep,
                        camera_id: UUID) -> HTMLResponse:
    issued = tokens.rotate_device_token(uow, me, camera_id)
    base = request.app.state.container.settings.base_url.rstrip("/")
    return render(request, "secret_once.html", title="Device token for your camera",
                  secret=issued.token, back="/cameras", camera_id=camera_id,
                  upload_url=f"{base}/api/v1/cameras/{camera_id}/clips",
                  message="Enter it in the camera's upload settings. It can only upload "
                          "clips to this camera, is shown only once, and replaces any "
                          "earlier token.")


@router.post("/cameras/{camera_id}/device-token/revoke")
def revoke_device_token(uow: UowDep, me: ActorDep, camera_id: UUID) -> Response:
    tokens.revoke_device_tokens(uow, me, camera_id)
    return see_other("/cameras")
