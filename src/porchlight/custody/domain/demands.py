"""Legal demands: warrants, subpoenas, court orders and emergency requests a platform admin
records, and fulfils, on behalf of a verified agency (invariant 1's second way out).

A demand names its type, the issuing agency, the court and docket (required unless it is
an emergency request), what it covers — the account data of named accounts, or cameras
and a time range in the past — how long the agency may keep what it gets (the
deployment's longest retention at most) and, for a warrant or a court order only, a date
until which a court ordered that the owners not be told.

States: ``recorded`` -> ``fulfilled`` (a platform admin delivers it: a job copies the
covered clips to the agency as evidence items whose basis is this demand) or ``recorded``
-> ``withdrawn`` (nothing is ever delivered). Nothing else moves.

The owners are told, each by mail and in the app, when ``notice_due_at`` says:

* a demand without a delay: as soon as its delivery is done;
* with a court-ordered delay: on its end date (or when the delivery is done, if later);
* an emergency request: as soon as the agency documents it, or 48 hours after it was
  fulfilled if it has not been documented by then — whichever comes first. The owner is
  always told, and the notice says whether the agency documented it in time.

The agency documents an emergency disclosure within ``DOCUMENTATION_DUE`` of its
fulfilment; one left undocumented past that is *overdue* (the admin dashboard lists it).
A late documentation is accepted (better late than never) and marked late.

Free text (the court, the docket, the emergency documentation) never goes to the audit
log: a leaf carries its length and a commitment keyed by a nonce kept in the row, as a
rejection's reason does. Nor does anything naming a resident: counts of cameras and
accounts only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import DomainEvent
from porchlight.requests.domain.requests import reason_commitment

COURT_MAX, DOCKET_MAX = 200, 80
DOCUMENTATION_MIN, DOCUMENTATION_MAX = 20, 4000
MAX_CAMERAS, MAX_ACCOUNTS = 50, 20
MAX_RANGE = timedelta(days=31)
MAX_NOTICE_DELAY = timedelta(days=365)
DOCUMENTATION_DUE = timedelta(hours=48)

# What "account data" discloses for each named account; nothing else (no password hash,
# no postal address, no second-step secrets, sessions or tokens, no clips: footage is
# disclosed only through a camera coverage).
ACCOUNT_DATA_FIELDS = ("account id", "display name", "e-mail address", "account created",
                       "cameras: id, name, location and when registered")


class DemandType(enum.StrEnum):
    WARRANT = "warrant"
    SUBPOENA = "subpoena"
    COURT_ORDER = "court_order"
    EMERGENCY = "emergency"

    @property
    def label(self) -> str:
        return {"court_order": "court order",
                "emergency": "emergency request"}.get(self.value, self.value)

    @property
    def may_delay_notice(self) -> bool:
        return self in (DemandType.WARRANT, DemandType.COURT_ORDER)


class Coverage(enum.StrEnum):
    ACCOUNT_DATA = "account_data"
    CAMERAS = "cameras"

    @property
    def label(self) -> str:
        return "account data" if self is Coverage.ACCOUNT_DATA else "cameras and a time range"


class DemandStatus(enum.StrEnum):
    RECORDED = "recorded"
    FULFILLED = "fulfilled"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class DemandTerms:
    """What the admin typed, parsed into values; checked by ``check_terms``."""

    demand_type: DemandType
    agency_id: UUID
    court: str | None
    docket: str | None
    coverage: Coverage
    account_ids: tuple[UUID, ...] = ()
    camera_ids: tuple[UUID, ...] = ()
    covers_from: datetime | None = None
    covers_to: datetime | None = None
    notice_delayed_until: datetime | None = None
    retention_days: int = 90


def _text(value: str | None) -> str | None:
    folded = " ".join((value or "").split())
    return folded or None


def check_terms(terms: DemandTerms, *, now: datetime, max_retention_days: int) -> DemandTerms:
    """The terms with their text folded; ``ValidationFailed`` naming the field otherwise."""
    court, docket = _text(terms.court), _text(terms.docket)
    if terms.demand_type is not DemandType.EMERGENCY:
        if court is None:
            raise ValidationFailed("name the court that issued it", field="court")
        if docket is None:
            raise ValidationFailed("give the docket number", field="docket")
    if court is not None and len(court) > COURT_MAX:
        raise ValidationFailed(f"use at most {COURT_MAX} characters", field="court")
    if docket is not None and len(docket) > DOCKET_MAX:
        raise ValidationFailed(f"use at most {DOCKET_MAX} characters", field="docket")
    _check_coverage(terms, now)
    _check_delay(terms, now)
    if not 1 <= terms.retention_days <= max_retention_days:
        raise ValidationFailed(f"the agency may keep it 1 to {max_retention_days} days "
                               "(this deployment's longest retention)", field="retention_days")
    covers = (terms.covers_from, terms.covers_to) if terms.coverage is Coverage.CAMERAS \
        else (None, None)
    return DemandTerms(terms.demand_type, terms.agency_id, court, docket, terms.coverage,
                       tuple(dict.fromkeys(terms.account_ids))
                       if terms.coverage is Coverage.ACCOUNT_DATA else (),
                       tuple(dict.fromkeys(terms.camera_ids))
                       if terms.coverage is Coverage.CAMERAS else (),
                       *covers, terms.notice_delayed_until, terms.retention_days)


def _check_coverage(terms: DemandTerms, now: datetime) -> None:
    if terms.coverage is Coverage.ACCOUNT_DATA:
        if not 1 <= len(set(terms.account_ids)) <= MAX_ACCOUNTS:
            raise ValidationFailed(f"name 1 to {MAX_ACCOUNTS} accounts", field="account_ids")
        return
    if not 1 <= len(set(terms.camera_ids)) <= MAX_CAMERAS:
        raise ValidationFailed(f"name 1 to {MAX_CAMERAS} cameras", field="camera_ids")
    start, end = terms.covers_from, terms.covers_to
    if start is None:
        raise ValidationFailed("give the start of the time range", field="covers_from")
    if end is None:
        raise ValidationFailed("give the end of the time range", field="covers_to")
    if start >= end:
        raise ValidationFailed("the range must end after it starts", field="covers_to")
    if end > now:
        raise ValidationFailed("the range cannot reach into the future", field="covers_to")
    if end - start > MAX_RANGE:
        raise ValidationFailed(f"the range may span at most {MAX_RANGE.days} days",
                               field="covers_to")


def _check_delay(terms: DemandTerms, now: datetime) -> None:
    until = terms.notice_delayed_until
    if until is None:
        return
    if not terms.demand_type.may_delay_notice:
        raise ValidationFailed("only a warrant or a court order can delay the owners' notice",
                               field="notice_delayed_until")
    if until <= now:
        raise ValidationFailed("the delay must end in the future", field="notice_delayed_until")
    if until > now + MAX_NOTICE_DELAY:
        raise ValidationFailed(f"a delay may last at most {MAX_NOTICE_DELAY.days} days",
                               field="notice_delayed_until")


def check_documentation(text: str | None) -> str:
    text = " ".join((text or "").split())
    if not DOCUMENTATION_MIN <= len(text) <= DOCUMENTATION_MAX:
        raise ValidationFailed(f"the documentation must be {DOCUMENTATION_MIN} to "
                               f"{DOCUMENTATION_MAX} characters", field="documentation")
    return text


def terms_text(court: str | None, docket: str | None) -> str:
    """The free text of a demand as its commitment covers it."""
    return f"{court or ''}\n{docket or ''}"


# ---- events ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LegalDemandRecorded(DomainEvent):
    """Public: what kind of demand, for which agency, covering how many cameras or
    accounts over which range; the court and docket only as length and commitment."""

    kind: ClassVar[str] = "legal_demand.recorded"
    demand_id: UUID
    agency_id: UUID
    demand_type: str
    coverage: str
    cameras: int
    accounts: int
    covers_from: datetime | None
    covers_to: datetime | None
    notice_delayed_until: datetime | None
    retention_days: int
    terms_chars: int
    terms_commitment: str


@dataclass(frozen=True, kw_only=True)
class LegalDemandFulfilled(DomainEvent):
    kind: ClassVar[str] = "legal_demand.fulfilled"
    demand_id: UUID
    agency_id: UUID
    demand_type: str
    owners: int  # how many owners are to be told


@dataclass(frozen=True, kw_only=True)
class LegalDemandWithdrawn(DomainEvent):
    kind: ClassVar[str] = "legal_demand.withdrawn"
    demand_id: UUID
    agency_id: UUID


@dataclass(frozen=True, kw_only=True)
class LegalDemandDocumented(DomainEvent):
    """The agency documented an emergency disclosure (length and commitment only)."""

    kind: ClassVar[str] = "legal_demand.documented"
    demand_id: UUID
    agency_id: UUID
    late: bool
    documentation_chars: int
    documentation_commitment: str


@dataclass(frozen=True, kw_only=True)
class LegalDemandNoticeSent(DomainEvent):
    """Public: the owners of a demand were told (how many, and how many clips it gave)."""

    kind: ClassVar[str] = "legal_demand.notice_sent"
    demand_id: UUID
    owners: int
    clips: int


@dataclass(frozen=True, kw_only=True)
class LegalDemandOwnerNotified(DomainEvent):
    """About a resident (a commitment leaf they can open): they were told of a demand
    that covered their footage or account. Calls for their mail."""

    kind: ClassVar[str] = "legal_demand.owner_notified"
    demand_id: UUID
    owner_id: UUID


# ---- the entity --------------------------------------------------------------------------


@dataclass(eq=False)
class LegalDemand(Entity):
    id: UUID
    demand_type: DemandType
    agency_id: UUID
    court: str | None
    docket: str | None
    coverage: Coverage
    account_ids: list[str]
    camera_ids: list[str]
    covers_from: datetime | None
    covers_to: datetime | None
    notice_delayed_until: datetime | None
    retention_days: int
    terms_nonce: str  # hex; keys the commitment to the court and docket
    recorded_by: UUID
    recorded_at: datetime
    status: DemandStatus = DemandStatus.RECORDED
    fulfilled_by: UUID | None = None
    fulfilled_at: datetime | None = None
    withdrawn_by: UUID | None = None
    withdrawn_at: datetime | None = None
    owner_ids: list[str] = field(default_factory=list)  # fixed at fulfilment
    delivered_at: datetime | None = None  # the delivery job finished
    clips_disclosed: int = 0
    account_records: list[dict] | None = None  # the account data disclosed, if covered
    documentation: str | None = None
    documentation_nonce: str | None = None
    documented_by: UUID | None = None
    documented_at: datetime | None = None
    notice_sent_at: datetime | None = None

    @classmethod
    def record_new(cls, *, demand_id: UUID, terms: DemandTerms, admin_id: UUID | None,
                   nonce: str, now: datetime, max_retention_days: int) -> LegalDemand:
        terms = check_terms(terms, now=now, max_retention_days=max_retention_days)
        demand = cls(
            id=demand_id, demand_type=terms.demand_type, agency_id=terms.agency_id,
            court=terms.court, docket=terms.docket, coverage=terms.coverage,
            account_ids=[str(a) for a in terms.account_ids],
            camera_ids=[str(c) for c in terms.camera_ids], covers_from=terms.covers_from,
            covers_to=terms.covers_to, notice_delayed_until=terms.notice_delayed_until,
            retention_days=terms.retention_days, terms_nonce=nonce, recorded_by=admin_id,
            recorded_at=now)
        text = terms_text(terms.court, terms.docket)
        demand.record(LegalDemandRecorded(
            actor_id=admin_id, demand_id=demand_id, agency_id=terms.agency_id,
            demand_type=terms.demand_type.value, coverage=terms.coverage.value,
            cameras=len(terms.camera_ids), accounts=len(terms.account_ids),
            covers_from=terms.covers_from, covers_to=terms.covers_to,
            notice_delayed_until=terms.notice_delayed_until,
            retention_days=terms.retention_days, terms_chars=len(text.strip()),
            terms_commitment=reason_commitment(nonce, text)))
        return demand

    @property
    def is_emergency(self) -> bool:
        return self.demand_type is DemandType.EMERGENCY

    def fulfil(self, *, admin_id: UUID | None, owner_ids: Sequence[UUID], now: datetime
               ) -> None:
        if self.status is not DemandStatus.RECORDED:
            raise Conflict(f"this demand is {self.status.value}: it cannot be fulfilled")
        self.status, self.fulfilled_by, self.fulfilled_at = DemandStatus.FULFILLED, admin_id, now
        self.owner_ids = sorted({str(o) for o in owner_ids})
        self.record(LegalDemandFulfilled(
            actor_id=admin_id, demand_id=self.id, agency_id=self.agency_id,
            demand_type=self.demand_type.value, owners=len(self.owner_ids)))

    def withdraw(self, *, admin_id: UUID | None, now: datetime) -> None:
        if self.status is not DemandStatus.RECORDED:
            raise Conflict(f"this demand is {self.status.value}: it cannot be withdrawn")
        self.status, self.withdrawn_by, self.withdrawn_at = DemandStatus.WITHDRAWN, admin_id, now
        self.record(LegalDemandWithdrawn(actor_id=admin_id, demand_id=self.id,
                                         agency_id=self.agency_id))

    @property
    def documentation_due_at(self) -> datetime | None:
        if not self.is_emergency or self.fulfilled_at is None:
            return None
        return self.fulfilled_at + DOCUMENTATION_DUE

    def documentation_overdue(self, now: datetime) -> bool:
        """An emergency disclosure still undocumented 48 hours after its fulfilment."""
        due = self.documentation_due_at
        return due is not None and self.documented_at is None and now >= due

    def document(self, *, staff_id: UUID, text: str, nonce: str, now: datetime) -> None:
        if not self.is_emergency:
            raise Conflict("only an emergency request is documented by the agency")
        if self.status is not DemandStatus.FULFILLED:
            raise Conflict("only a fulfilled emergency request can be documented")
        if self.documented_at is not None:
            raise Conflict("this emergency request has been documented already")
        text = check_documentation(text)
        late = self.documentation_overdue(now)
        self.documentation, self.documentation_nonce = text, nonce
        self.documented_by, self.documented_at = staff_id, now
        self.record(LegalDemandDocumented(
            actor_id=staff_id, demand_id=self.id, agency_id=self.agency_id, late=late,
            documentation_chars=len(text),
            documentation_commitment=reason_commitment(nonce, text)))

    @property
    def documented_late(self) -> bool:
        due = self.documentation_due_at
        return due is not None and self.documented_at is not None and self.documented_at >= due

    def delivered(self, *, clips: int, account_records: list[dict] | None, now: datetime
                  ) -> None:
        """The delivery job is done (idempotent: a second call changes nothing)."""
        if self.delivered_at is None:
            self.delivered_at, self.clips_disclosed = now, clips
            self.account_records = account_records

    @property
    def notice_due_at(self) -> datetime | None:
        """When the owners are to be told (see the module); None before the delivery."""
        if self.status is not DemandStatus.FULFILLED or self.delivered_at is None:
            return None
        assert self.fulfilled_at is not None
        if self.is_emergency:
            told = self.documented_at or self.fulfilled_at + DOCUMENTATION_DUE
        else:
            told = self.notice_delayed_until or self.fulfilled_at
        return max(self.delivered_at, told)

    def notice_due(self, now: datetime) -> bool:
        due = self.notice_due_at
        return self.notice_sent_at is None and due is not None and due <= now

    def send_notice(self, *, now: datetime) -> list[UUID]:
        """Mark the owners told, once; the owners to tell (each a resident event)."""
        if not self.notice_due(now):
            return []
        self.notice_sent_at = now
        owners = [UUID(o) for o in self.owner_ids]
        for owner in owners:
            self.record(LegalDemandOwnerNotified(actor_id=None, demand_id=self.id,
                                                 owner_id=owner))
        self.record(LegalDemandNoticeSent(actor_id=None, demand_id=self.id,
                                          owners=len(owners), clips=self.clips_disclosed))
        return owners

    def retention_ends(self) -> datetime | None:
        """When what the agency got ends (the evidence items carry it too)."""
        if self.delivered_at is None:
            return None
        return self.delivered_at + timedelta(days=self.retention_days)
