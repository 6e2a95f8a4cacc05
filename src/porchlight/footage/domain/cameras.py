"""Cameras: a resident's device, where it is, and whether agencies may ask it for footage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import ValidationFailed
from porchlight.kernel.domain.events import DomainEvent
from porchlight.kernel.domain.geo import LatLon

RETENTION_CHOICES_DAYS = (7, 30, 60, 180)
DEFAULT_RETENTION_DAYS = 60


@dataclass(frozen=True, kw_only=True)
class CameraRegistered(DomainEvent):
    kind: ClassVar[str] = "camera.registered"
    camera_id: UUID
    owner_id: UUID
    opted_in: bool
    retention_days: int


@dataclass(frozen=True, kw_only=True)
class CameraOptedIn(DomainEvent):
    kind: ClassVar[str] = "camera.opted_in"
    camera_id: UUID


@dataclass(frozen=True, kw_only=True)
class CameraOptedOut(DomainEvent):
    kind: ClassVar[str] = "camera.opted_out"
    camera_id: UUID


@dataclass(frozen=True, kw_only=True)
class CameraRetentionChanged(DomainEvent):
    kind: ClassVar[str] = "camera.retention_changed"
    camera_id: UUID
    retention_days: int


def clean_camera_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 60:
        raise ValidationFailed("camera name must be 1 to 60 characters", field="name")
    return name


def check_retention(days: int) -> int:
    if days not in RETENTION_CHOICES_DAYS:
        choices = ", ".join(str(d) for d in RETENTION_CHOICES_DAYS)
        raise ValidationFailed(f"retention must be one of {choices} days", field="retention_days")
    return days


@dataclass(eq=False)
class Camera(Entity):
    id: UUID
    owner_id: UUID
    name: str
    lat: float
    lon: float
    h3_cell: int
    created_at: datetime
    opted_in: bool = False
    retention_days: int = DEFAULT_RETENTION_DAYS

    @classmethod
    def register(
        cls,
        *,
        id: UUID,
        owner_id: UUID,
        name: str,
        location: LatLon,
        h3_cell: int,
        now: datetime,
        opted_in: bool = False,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> Camera:
        """Register a camera. Opting in to agency requests is an explicit choice, off by default."""
        if h3_cell <= 0:
            raise ValidationFailed("camera location has no H3 cell")
        camera = cls(
            id=id,
            owner_id=owner_id,
            name=clean_camera_name(name),
            lat=location.lat,
            lon=location.lon,
            h3_cell=h3_cell,
            created_at=now,
            opted_in=opted_in,
            retention_days=check_retention(retention_days),
        )
        camera.record(
            CameraRegistered(
                actor_id=owner_id,
                camera_id=id,
                owner_id=owner_id,
                opted_in=opted_in,
                retention_days=camera.retention_days,
            )
        )
        return camera

    @property
    def location(self) -> LatLon:
        return LatLon(self.lat, self.lon)

    def set_opted_in(self, opted_in: bool, *, actor_id: UUID) -> None:
        if self.opted_in == opted_in:
            return
        self.opted_in = opted_in
        event = CameraOptedIn if opted_in else CameraOptedOut
        self.record(event(actor_id=actor_id, camera_id=self.id))

    def set_retention(self, days: int, *, actor_id: UUID) -> None:
        days = check_retention(days)
        if days == self.retention_days:
            return
        self.retention_days = days
        self.record(
            CameraRetentionChanged(actor_id=actor_id, camera_id=self.id, retention_days=days)
        )
