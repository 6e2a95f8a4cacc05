"""Evidence items: the agency's own encrypted copy of a consented clip, trimmed to the window.

An item re-shared to another agency (custody.domain.reshare) gives that agency an item of
its own: the same clip, consent and request, with ``parent_id`` naming the item it was
copied from, its own key and object, and a deletion date no later than its parent's.

An item delivered under a legal demand (custody.domain.demands) has no consent and no
request: ``legal_demand_id`` names the demand, its ``basis`` is ``legal_demand``, and its
deletion date is the retention the demand set. It cannot be re-shared (no consent scope
decides where it may go) and no legal hold covers it (holds belong to a request's case).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class EvidenceReceived(DomainEvent):
    """Custody: the agency received a derived copy (parent and own SHA-256 on the record)."""

    kind: ClassVar[str] = "evidence.received"
    evidence_id: UUID
    request_id: UUID | None  # None: delivered under a legal demand
    agency_id: UUID
    source_sha256: str
    sha256: str
    legal_demand_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class EvidenceViewed(DomainEvent):
    kind: ClassVar[str] = "evidence.viewed"
    evidence_id: UUID


@dataclass(frozen=True, kw_only=True)
class EvidencePurged(DomainEvent):
    kind: ClassVar[str] = "evidence.purged"
    evidence_id: UUID
    reason: str


@dataclass(eq=False)
class EvidenceItem(Entity):
    id: UUID
    consent_id: UUID | None  # None: delivered under a legal demand
    request_id: UUID | None
    agency_id: UUID
    source_clip_id: UUID
    source_sha256: str
    sha256: str
    size_bytes: int
    container: str
    start_offset_seconds: float
    end_offset_seconds: float
    covers_from: datetime
    covers_to: datetime
    object_key: str
    wrapped_key: bytes | None
    received_at: datetime
    expires_at: datetime
    first_opened_at: datetime | None = None
    purged_at: datetime | None = None
    parent_id: UUID | None = None  # a re-shared copy: the item it was copied from
    # the holding agency's answer to the owner's deletion request (custody.domain.deletion)
    deletion_answer: str | None = None
    deletion_answered_at: datetime | None = None
    deletion_answered_role: str | None = None
    deletion_hold_id: UUID | None = None
    legal_demand_id: UUID | None = None  # delivered under this demand (no consent)
    redacted_copy_id: UUID | None = None  # made from the owner's blurred copy of the clip

    @property
    def basis(self) -> str:
        """Why the agency holds it: ``consent`` or ``legal_demand``."""
        return "legal_demand" if self.legal_demand_id is not None else "consent"

    @property
    def is_copy(self) -> bool:
        """Whether this item was re-shared to its agency by another (not derived from the
        clip for the request's own agency)."""
        return self.parent_id is not None

    @property
    def is_readable(self) -> bool:
        return self.wrapped_key is not None and self.purged_at is None

    def opened(self, *, actor_id: UUID, now: datetime) -> None:
        if self.first_opened_at is None:
            self.first_opened_at = now
        self.record(EvidenceViewed(actor_id=actor_id, evidence_id=self.id))

    def purge(self, *, now: datetime, reason: str, actor_id: UUID | None) -> None:
        if self.purged_at is not None:
            return
        self.wrapped_key = None
        self.purged_at = now
        self.record(EvidencePurged(actor_id=actor_id, evidence_id=self.id, reason=reason))
