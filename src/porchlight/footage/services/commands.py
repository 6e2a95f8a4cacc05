"""Commands for cameras and clips: what a caller asks, already parsed into domain values.

Each is a plain frozen dataclass named in the imperative; its use case takes
``(uow, [ports,] actor, command)``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

from porchlight.footage.domain.cameras import DEFAULT_RETENTION_DAYS
from porchlight.kernel.domain.geo import LatLon


@dataclass(frozen=True)
class RegisterCamera:
    name: str
    location: LatLon
    opted_in: bool = False
    retention_days: int = DEFAULT_RETENTION_DAYS


@dataclass(frozen=True)
class SetCameraOptIn:
    camera_id: UUID
    opted_in: bool


@dataclass(frozen=True)
class SetCameraRetention:
    camera_id: UUID
    retention_days: int


@dataclass(frozen=True)
class ReceivedFile:
    """An upload already written to a private temporary file, and its size."""

    path: Path
    size: int


@dataclass(frozen=True)
class UploadClip:
    """One recording for ``camera_id``; the device that sends it is the actor."""

    camera_id: UUID
    recorded_at: datetime
    received: ReceivedFile
    claimed_sha256: str | None = None
