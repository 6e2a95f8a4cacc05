"""Commands for the custody of evidence, already parsed into domain values (see
``requests.services.commands`` for the convention)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from porchlight.custody.domain.demands import DemandTerms


@dataclass(frozen=True)
class SetLegalHold:
    """Keep the case's evidence until ``until`` at least, for ``reason``."""

    request_id: UUID
    reason: str
    until: datetime


@dataclass(frozen=True)
class ReleaseLegalHold:
    request_id: UUID
    hold_id: UUID


@dataclass(frozen=True)
class CloseCase:
    """The case is over: its holds end, and its evidence's retention restarts."""

    request_id: UUID


@dataclass(frozen=True)
class ReshareEvidence:
    """Give ``to_agency_id`` a copy of the evidence item, for ``reason``; it is kept until
    ``until`` if given, never past the item's own promised date."""

    evidence_id: UUID
    to_agency_id: UUID
    reason: str
    until: datetime | None = None


@dataclass(frozen=True)
class RecordLegalDemand:
    """A platform admin records a warrant, subpoena, court order or emergency request."""

    terms: DemandTerms


@dataclass(frozen=True)
class FulfilLegalDemand:
    """Deliver what the demand covers to its agency (a job copies the clips)."""

    demand_id: UUID


@dataclass(frozen=True)
class WithdrawLegalDemand:
    demand_id: UUID


@dataclass(frozen=True)
class DocumentEmergency:
    """The agency documents an emergency disclosure it received."""

    demand_id: UUID
    documentation: str


@dataclass(frozen=True)
class AnswerDeletionRequest:
    """The holding agency's answer to the owner's deletion request for ``consent_id``:
    ``answer`` is "deleted", or "kept" under the active legal hold ``hold_id``."""

    consent_id: UUID
    answer: str
    hold_id: UUID | None = None
