"""Video requests: what an agency may ask for, and the scope rules that keep it narrow.

The defaults (deployment settings may only change the numbers): a window of up to two
hours and a radius of up to 300 m go out on an officer's word; up to twelve hours and
650 m need a supervisor's approval with a written justification; anything larger is
refused. Every refusal names its rule.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from porchlight.accounts.domain.agencies import Agency, AgencyKind
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict, PolicyRefused, ValidationFailed
from porchlight.kernel.domain.events import DomainEvent
from porchlight.kernel.domain.geo import LatLon
from porchlight.requests.domain.purpose_screen import forbidden_purpose


class IncidentType(enum.StrEnum):
    BURGLARY = "burglary"
    THEFT = "theft"
    VEHICLE_CRIME = "vehicle_crime"
    ROBBERY = "robbery"
    ASSAULT = "assault"
    VANDALISM = "vandalism"
    HIT_AND_RUN = "hit_and_run"
    MISSING_PERSON = "missing_person"
    HOMICIDE = "homicide"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class RequestStatus(enum.StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    OPEN = "open"  # delivered to residents, answers being collected
    CLOSED = "closed"  # the response deadline passed
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"  # a supervisor said no


@dataclass(frozen=True)
class ScopePolicy:
    officer_max_window: timedelta = timedelta(hours=2)
    officer_max_radius_m: int = 300
    supervisor_max_window: timedelta = timedelta(hours=12)
    supervisor_max_radius_m: int = 650
    max_retention_days: int = 365
    longest_camera_retention: timedelta = timedelta(days=180)
    allow_federal: bool = False
    response_deadline: timedelta = timedelta(days=7)
    deletion_answer_days: int = 14  # an agency answers a deletion request within these
    min_group_size: int = 5
    reach_previews: int = 30  # per staff account, within reach_preview_window
    reach_preview_window: timedelta = timedelta(minutes=10)
    reach_agency_previews: int = 200  # per agency (all its staff), within reach_agency_window
    reach_agency_window: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class RequestDraft:
    """What an officer asks for, already parsed."""

    case_number: str
    incident_type: IncidentType
    incident_other: str | None
    incident_time: datetime
    location: LatLon
    radius_m: int
    window_start: datetime
    window_end: datetime
    description: str
    retention_days: int
    sharing_plan: tuple[UUID, ...]
    contact: str


@dataclass(frozen=True)
class ScopeDecision:
    needs_supervisor: bool
    reasons: tuple[str, ...] = field(default=())


def _require_text(value: str | None, name: str, low: int, high: int, field: str) -> str:
    value = " ".join((value or "").split())
    if not low <= len(value) <= high:
        raise ValidationFailed(f"{name} must be {low} to {high} characters", field=field)
    return value


MIN_RADIUS_M = 10  # narrower requests are refused, whatever the policy allows
REJECTION_REASON_MIN, REJECTION_REASON_MAX = 10, 2000


def reason_commitment(nonce: str, reason: str) -> str:
    """SHA-256 of the nonce's bytes and the reason's UTF-8: what the audit log keeps."""
    return hashlib.sha256(bytes.fromhex(nonce) + reason.encode()).hexdigest()


def check_draft_shape(draft: RequestDraft) -> None:
    _require_text(draft.case_number, "the case number", 1, 40, "case_number")
    _require_text(draft.description, "the description residents read", 20, 2000,
                  "description")
    _require_text(draft.contact, "the contact", 3, 200, "contact")
    if draft.incident_type is IncidentType.OTHER:
        _require_text(draft.incident_other, "the description of the incident type", 3, 120,
                      "incident_other")
    if draft.window_end <= draft.window_start:
        raise ValidationFailed("the window must end after it starts", field="window_end")
    if draft.radius_m < MIN_RADIUS_M:
        raise ValidationFailed(f"the radius must be at least {MIN_RADIUS_M} m",
                               field="radius_m")
    if not draft.window_start <= draft.incident_time <= draft.window_end:
        raise ValidationFailed("the incident time must lie inside the window",
                               field="incident_time")
    if draft.retention_days < 1:
        raise ValidationFailed("the agency must keep evidence for at least one day",
                               field="retention_days")


def check_scope(
    draft: RequestDraft, agency: Agency, policy: ScopePolicy, now: datetime
) -> ScopeDecision:
    """Apply every scope rule; refuse with the rule's name, or say who must approve."""
    check_draft_shape(draft)
    check_agency(agency, policy)
    _check_purpose(draft)
    _check_time(draft, policy, now)
    if draft.retention_days > policy.max_retention_days:
        raise PolicyRefused("retention_too_long", f"evidence may be kept at most "
                            f"{policy.max_retention_days} days on this deployment",
                            field="retention_days")
    return _size_decision(draft, policy)


def check_agency(agency: Agency, policy: ScopePolicy) -> None:
    """Only a verified agency, and a federal one only where the deployment allows it."""
    if not agency.is_verified:
        raise PolicyRefused("agency_not_verified", "the agency has not been verified yet")
    if agency.kind is AgencyKind.FEDERAL and not policy.allow_federal:
        raise PolicyRefused("federal_agency", "federal agencies cannot send video requests on "
                            "this deployment")


def _check_purpose(draft: RequestDraft) -> None:
    texts = (draft.description, draft.incident_other, draft.case_number, draft.contact)
    found = forbidden_purpose(" ".join(filter(None, texts)))
    if found is None:
        return
    rule, said = found
    if rule == "mixed_scripts":
        raise PolicyRefused("forbidden_purpose.mixed_scripts", f"write the text in one "
                            f"alphabet: '{said}' mixes Latin letters with Greek or Cyrillic "
                            "ones", field="description")
    what = ("protest or other First Amendment activity" if rule == "first_amendment"
            else "immigration enforcement")
    raise PolicyRefused(f"forbidden_purpose.{rule}", f"requests for {what} are not allowed "
                        f"(the text mentions '{said}')", field="description")


def _check_time(draft: RequestDraft, policy: ScopePolicy, now: datetime) -> None:
    if draft.window_end > now:
        raise PolicyRefused("window_not_ended", "the window must have ended: footage is only "
                            "asked for after the fact", field="window_end")
    if draft.window_start < now - policy.longest_camera_retention:
        days = policy.longest_camera_retention.days
        raise PolicyRefused("window_beyond_retention", f"the window starts more than {days} "
                            "days ago; no camera keeps footage that long",
                            field="window_start")


def _size_decision(draft: RequestDraft, policy: ScopePolicy) -> ScopeDecision:
    window = draft.window_end - draft.window_start
    hours = window.total_seconds() / 3600
    if window > policy.supervisor_max_window:
        raise PolicyRefused("window_too_long", f"a window of {hours:.1f} h is longer than the "
                            f"{policy.supervisor_max_window.total_seconds() / 3600:.0f} h limit",
                            field="window_end")
    if draft.radius_m > policy.supervisor_max_radius_m:
        raise PolicyRefused("radius_too_large", f"a radius of {draft.radius_m} m is larger "
                            f"than the {policy.supervisor_max_radius_m} m limit",
                            field="radius_m")
    reasons = over_officer_limits(window, draft.radius_m, policy)
    return ScopeDecision(needs_supervisor=bool(reasons), reasons=reasons)


def over_officer_limits(window: timedelta, radius_m: int, policy: ScopePolicy
                        ) -> tuple[str, ...]:
    """Why a request needs a supervisor: the officer's limits it goes beyond."""
    reasons = []
    if window > policy.officer_max_window:
        reasons.append("window_over_officer_limit")
    if radius_m > policy.officer_max_radius_m:
        reasons.append("radius_over_officer_limit")
    return tuple(reasons)


# ---- events and the request entity ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RequestCreated(DomainEvent):
    kind: ClassVar[str] = "request.created"
    request_id: UUID
    agency_id: UUID
    needs_approval: bool
    radius_m: int
    window_minutes: int


@dataclass(frozen=True, kw_only=True)
class RequestRefused(DomainEvent):
    kind: ClassVar[str] = "request.refused"
    agency_id: UUID
    reason: str


@dataclass(frozen=True, kw_only=True)
class RequestApproved(DomainEvent):
    kind: ClassVar[str] = "request.approved"
    request_id: UUID


@dataclass(frozen=True, kw_only=True)
class RequestRejected(DomainEvent):
    """The reason is free text, which an audit leaf never holds: the leaf carries its
    length and a commitment to it (SHA-256 of a random nonce and the text). The text and
    the nonce stay in the request's row, so whoever holds the row can show that the text
    is the one decided, while the public log alone cannot be used to guess it."""

    kind: ClassVar[str] = "request.rejected"
    version: ClassVar[int] = 2  # 1 had no reason
    request_id: UUID
    reason_chars: int
    reason_commitment: str


@dataclass(frozen=True, kw_only=True)
class RequestWithdrawn(DomainEvent):
    kind: ClassVar[str] = "request.withdrawn"
    request_id: UUID


@dataclass(frozen=True, kw_only=True)
class RequestClosed(DomainEvent):
    kind: ClassVar[str] = "request.closed"
    request_id: UUID


@dataclass(frozen=True, kw_only=True)
class CaseClosed(DomainEvent):
    """The agency closed the case the request was for: its legal holds end with it."""

    kind: ClassVar[str] = "request.case_closed"
    request_id: UUID


@dataclass(eq=False)
class VideoRequest(Entity):
    id: UUID
    agency_id: UUID
    created_by: UUID
    case_number: str
    incident_type: IncidentType
    incident_other: str | None
    incident_time: datetime
    lat: float
    lon: float
    radius_m: int
    window_start: datetime
    window_end: datetime
    description: str
    retention_days: int
    sharing_plan: list[str]
    contact: str
    status: RequestStatus
    created_at: datetime
    deadline: datetime | None = None
    approved_by: UUID | None = None
    approved_at: datetime | None = None
    justification: str | None = None
    delivered_at: datetime | None = None
    closed_at: datetime | None = None
    rejected_by: UUID | None = None
    rejection_reason: str | None = None
    rejection_nonce: str | None = None  # hex; keys the reason's commitment in the audit log
    case_closed_at: datetime | None = None  # the case, not the answering (that is closed_at)
    case_closed_by: UUID | None = None

    @property
    def location(self) -> LatLon:
        return LatLon(self.lat, self.lon)

    @property
    def window_minutes(self) -> int:
        return int((self.window_end - self.window_start).total_seconds() // 60)

    def approve(self, *, supervisor_id: UUID, justification: str, now: datetime,
                deadline: timedelta) -> None:
        if self.status is not RequestStatus.AWAITING_APPROVAL:
            raise Conflict("only a request awaiting approval can be approved")
        if supervisor_id == self.created_by:
            raise Conflict("a supervisor cannot approve their own request")
        self.justification = _require_text(justification, "the written justification", 20, 2000,
                                            "justification")
        self.approved_by, self.approved_at = supervisor_id, now
        self.open(now=now, deadline=deadline, actor_id=supervisor_id)

    def open(self, *, now: datetime, deadline: timedelta, actor_id: UUID) -> None:
        self.status = RequestStatus.OPEN
        self.deadline = now + deadline
        self.record(RequestApproved(actor_id=actor_id, request_id=self.id))

    def reject(self, *, supervisor_id: UUID, reason: str, nonce: str, now: datetime) -> None:
        """Say no, and why: the officer reads the reason on the request's page."""
        if self.status is not RequestStatus.AWAITING_APPROVAL:
            raise Conflict("only a request awaiting approval can be rejected")
        reason = _require_text(reason, "the reason for rejecting", REJECTION_REASON_MIN,
                               REJECTION_REASON_MAX, "reason")
        self.status, self.closed_at = RequestStatus.REJECTED, now
        self.rejected_by, self.rejection_reason, self.rejection_nonce = supervisor_id, reason, nonce
        self.record(RequestRejected(
            actor_id=supervisor_id, request_id=self.id, reason_chars=len(reason),
            reason_commitment=reason_commitment(nonce, reason)))

    def withdraw(self, *, actor_id: UUID, now: datetime) -> None:
        if self.status not in (RequestStatus.AWAITING_APPROVAL, RequestStatus.OPEN):
            raise Conflict("this request is no longer open")
        self.status, self.closed_at = RequestStatus.WITHDRAWN, now
        self.record(RequestWithdrawn(actor_id=actor_id, request_id=self.id))

    def close_if_due(self, now: datetime) -> bool:
        if self.status is RequestStatus.OPEN and self.deadline and now >= self.deadline:
            self.status, self.closed_at = RequestStatus.CLOSED, now
            self.record(RequestClosed(actor_id=None, request_id=self.id))
            return True
        return False

    def close_case(self, *, supervisor_id: UUID, now: datetime) -> None:
        """The case is over: recorded once, after residents can no longer answer."""
        if self.case_closed_at is not None:
            raise Conflict("this case is already closed")
        if self.status in (RequestStatus.AWAITING_APPROVAL, RequestStatus.OPEN):
            raise Conflict("residents can still answer this request: withdraw it first")
        self.case_closed_at, self.case_closed_by = now, supervisor_id
        self.record(CaseClosed(actor_id=supervisor_id, request_id=self.id))

    @property
    def may_have_evidence(self) -> bool:
        """Whether evidence can have come for this request (what a legal hold would keep)."""
        return self.status not in (RequestStatus.AWAITING_APPROVAL, RequestStatus.REJECTED)

    @property
    def accepts_answers(self) -> bool:
        return self.status is RequestStatus.OPEN
