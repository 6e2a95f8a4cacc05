"""Commands for video requests and a resident's answers, already parsed into domain values.

Each is a plain frozen dataclass named in the imperative; its use case takes
``(uow, [ports,] actor, command)``. The API and the pages build them from one input model
each (``porchlight.entrypoints.inputs``), so both ask for the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from porchlight.requests.domain.consent import SharingScope
from porchlight.requests.domain.requests import RequestDraft


@dataclass(frozen=True)
class CreateVideoRequest:
    """Ask residents near an incident for footage; the scope rules judge ``draft``."""

    draft: RequestDraft


@dataclass(frozen=True)
class ApproveVideoRequest:
    request_id: UUID
    justification: str


@dataclass(frozen=True)
class RejectVideoRequest:
    request_id: UUID
    reason: str


@dataclass(frozen=True)
class WithdrawVideoRequest:
    request_id: UUID


@dataclass(frozen=True)
class GrantConsent:
    """Share exactly ``clip_ids`` from the disclosure whose digest the resident read."""

    delivery_id: UUID
    clip_ids: frozenset[str]
    scope: SharingScope
    share_contact: bool
    disclosure_sha256: str
    blur: bool = False  # share the owner's approved blurred copy of each clip instead


@dataclass(frozen=True)
class DeclineRequest:
    delivery_id: UUID


@dataclass(frozen=True)
class RevokeConsent:
    delivery_id: UUID


@dataclass(frozen=True)
class AskForDeletion:
    delivery_id: UUID
