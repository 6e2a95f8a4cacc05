"""Use cases for a resident's cameras."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import h3

from porchlight.footage.domain.cameras import Camera
from porchlight.footage.domain.clips import clip_expiry
from porchlight.footage.services.commands import RegisterCamera, SetCameraOptIn, SetCameraRetention
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import Actor, require_camera_owner, require_resident
from porchlight.kernel.services.ports import UnitOfWork

H3_RESOLUTION = 10


def h3_cell(location: LatLon) -> int:
    """The H3 resolution-10 cell of a point, as the 64-bit integer the cameras table indexes."""
    return h3.str_to_int(h3.latlng_to_cell(location.lat, location.lon, H3_RESOLUTION))


def register_camera(uow: UnitOfWork, actor: Actor, cmd: RegisterCamera) -> UUID:
    with uow:
        owner = require_resident(actor)
        camera = Camera.register(
            id=uuid4(),
            owner_id=owner.id,
            name=cmd.name,
            location=cmd.location,
            h3_cell=h3_cell(cmd.location),
            now=uow.clock.now(),
            opted_in=cmd.opted_in,
            retention_days=cmd.retention_days,
        )
        uow.cameras.add(camera)
        uow.commit()
        return camera.id


def set_camera_opt_in(uow: UnitOfWork, actor: Actor, cmd: SetCameraOptIn) -> None:
    with uow:
        camera = require_camera_owner(actor, uow.cameras.get(cmd.camera_id))
        camera.set_opted_in(cmd.opted_in, actor_id=camera.owner_id)
        uow.commit()


def set_camera_retention(uow: UnitOfWork, actor: Actor, cmd: SetCameraRetention) -> None:
    """Change how long a camera keeps footage; its stored clips follow the new rule at once."""
    with uow:
        camera = require_camera_owner(actor, uow.cameras.get(cmd.camera_id))
        camera.set_retention(cmd.retention_days, actor_id=camera.owner_id)
        for clip in uow.clips.list_for_camera(camera.id):
            clip.expires_at = clip_expiry(camera, clip.recorded_at)
        uow.commit()


def list_my_cameras(uow: UnitOfWork, actor: Actor) -> Sequence[Camera]:
    with uow.reading():
        owner = require_resident(actor)
        return list(uow.cameras.list_by_owner(owner.id))
