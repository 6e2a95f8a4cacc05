"""Deliveries, consent and evidence: what a resident agreed to, and what the agency received.

A consent is immutable once given: the clips, the sharing scope, the contact choice, the
disclosure version the resident read and the time. It can be revoked until the agency
first opens the evidence; after that the resident can ask for deletion, which is
recorded and shown to the agency.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from porchlight.accounts.domain.agencies import Agency, AgencyKind
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import INTERNAL, DomainEvent


class SharingScope(enum.StrEnum):
    THIS_AGENCY = "this_agency"
    NAMED_AGENCIES = "named_agencies"  # also the agencies named in the request's plan
    LOCAL_OR_STATE = "local_or_state"  # any local or state agency; never federal unless named

    @property
    def label(self) -> str:
        return {
            SharingScope.THIS_AGENCY: "this agency only",
            SharingScope.NAMED_AGENCIES: "also the agencies named in the request",
            SharingScope.LOCAL_OR_STATE: "any local or state agency (never a federal one "
                                         "unless it is named in the request)",
        }[self]


LOCAL_OR_STATE_KINDS = frozenset({AgencyKind.MUNICIPAL_POLICE, AgencyKind.COUNTY_SHERIFF,
                                  AgencyKind.STATE, AgencyKind.FIRE_EMS})


def may_share_with(
    scope: SharingScope, owner_agency: UUID, named: frozenset[UUID], target: Agency
) -> bool:
    """Invariant 3: a re-share stays inside the owner's consent scope."""
    if target.id == owner_agency:
        return True
    if scope is SharingScope.THIS_AGENCY:
        return False
    if target.id in named:
        return True
    return scope is SharingScope.LOCAL_OR_STATE and target.kind in LOCAL_OR_STATE_KINDS


class DeliveryStatus(enum.StrEnum):
    WAITING = "waiting"
    SHARED = "shared"
    DECLINED = "declined"
    REVOKED = "revoked"


# Events about a resident's answer are resident events: the public log holds only a
# commitment to each (audit.domain.disclosure), which the resident, named as the actor
# (or the delivery's resident), can open; nobody else, the agency included, can tell from
# the log who answered, how, or who ignored a request.


@dataclass(frozen=True, kw_only=True)
class DeliveryCreated(DomainEvent):
    """A delivery exists, for its resident to open in the log; which request it answers
    is not recorded (RequestDelivered counts them).  Its id is for the message bus only
    (the resident's notice)."""

    kind: ClassVar[str] = "delivery.created"
    resident_id: UUID | None = None
    delivery_id: UUID | None = field(default=None, metadata=INTERNAL)


@dataclass(frozen=True, kw_only=True)
class RequestDelivered(DomainEvent):
    """How many residents a request reached, as a number only from the minimum group size."""

    kind: ClassVar[str] = "request.delivered"
    request_id: UUID
    residents: str


def group_count(count: int, floor: int) -> str:
    return str(count) if count >= floor or (count == 0 and floor <= 0) else f"under_{floor}"


@dataclass(frozen=True, kw_only=True)
class ConsentGranted(DomainEvent):
    kind: ClassVar[str] = "consent.granted"
    consent_id: UUID
    request_id: UUID
    clips: int
    scope: str
    contact_shared: bool
    disclosure_sha256: str


@dataclass(frozen=True, kw_only=True)
class RequestDeclined(DomainEvent):
    kind: ClassVar[str] = "delivery.declined"


@dataclass(frozen=True, kw_only=True)
class ConsentRevoked(DomainEvent):
    kind: ClassVar[str] = "consent.revoked"
    consent_id: UUID


@dataclass(frozen=True, kw_only=True)
class DeletionRequested(DomainEvent):
    kind: ClassVar[str] = "consent.deletion_requested"
    consent_id: UUID


@dataclass(frozen=True, kw_only=True)
class ContactDisclosed(DomainEvent):
    """Personal data left the owner's hands, as they chose for this one consent."""

    kind: ClassVar[str] = "consent.contact_disclosed"
    consent_id: UUID
    resident_id: UUID | None = None  # whose details: they, and only they, open the entry


@dataclass(eq=False)
class Delivery(Entity):
    """One resident's copy of a request: they may answer it, or never."""

    id: UUID
    request_id: UUID
    resident_id: UUID
    camera_ids: list[str]
    created_at: datetime
    status: DeliveryStatus = DeliveryStatus.WAITING
    answered_at: datetime | None = None
    notified_at: datetime | None = None

    def decline(self, *, now: datetime) -> None:
        if self.status is not DeliveryStatus.WAITING:
            raise Conflict("this request has already been answered")
        self.status, self.answered_at = DeliveryStatus.DECLINED, now
        self.record(RequestDeclined(actor_id=self.resident_id))

    def mark_shared(self, *, now: datetime) -> None:
        if self.status is not DeliveryStatus.WAITING:
            raise Conflict("this request has already been answered")
        self.status, self.answered_at = DeliveryStatus.SHARED, now


@dataclass(eq=False)
class Consent(Entity):
    id: UUID
    delivery_id: UUID
    request_id: UUID
    resident_id: UUID
    agency_id: UUID
    clip_ids: list[str]
    scope: str
    share_contact: bool
    disclosure_sha256: str
    created_at: datetime
    revoked_at: datetime | None = None
    deletion_requested_at: datetime | None = None
    # clip id -> id of the owner's approved redacted copy, shared instead of the clip
    blurred_copies: dict[str, str] | None = None

    @property
    def sharing_scope(self) -> SharingScope:
        return SharingScope(self.scope)

    def revoke(self, *, now: datetime, evidence_opened: bool) -> None:
        if self.revoked_at is not None:
            raise Conflict("this consent is already revoked")
        if evidence_opened:
            raise Conflict("the agency has already opened this evidence; ask for deletion "
                           "instead")
        self.revoked_at = now
        self.record(ConsentRevoked(actor_id=self.resident_id, consent_id=self.id))

    def request_deletion(self, *, now: datetime) -> None:
        if self.deletion_requested_at is not None or self.revoked_at is not None:
            raise Conflict("deletion has already been asked for")
        self.deletion_requested_at = now
        self.record(DeletionRequested(actor_id=self.resident_id, consent_id=self.id))


def check_choice(chosen: set[str], offered: set[str]) -> None:
    if not chosen:
        raise ValidationFailed("pick at least one clip, or decline the request", field="clips")
    if not chosen <= offered:
        raise ValidationFailed("only clips listed in the disclosure can be shared", field="clips")
