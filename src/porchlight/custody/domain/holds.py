"""Legal holds: a supervisor keeps a case's evidence past the retention its agency promised.

A hold is tied to the case, that is to the video request: it covers every evidence item
the request received, and any it receives while the hold stands (the copies of one case
are kept or let go together; a hold per clip would let a case's evidence fall apart).
It is set by a supervisor of the request's agency with a reason (the agency's own text,
kept in the hold's row: the audit leaf carries its length and a commitment to it, as a
rejection's does) and an end date, at most the deployment's longest retention from now.

While a hold stands (not released, its end date not reached) no item of the case is
purged. When it ends — released by a supervisor, closed with the case, or run to its
end date — the retention clock restarts: the item is kept for the retention the agency
promised, counted again from the hold's end. So an item's deletion date is

    max(received, the end of each of the case's holds) + the promised retention

which a hold can only push later, never earlier than the original promise, and which no
hold can push more than the deployment's longest retention (the cap on the end date)
plus the promised retention (itself capped by that maximum) beyond the day it was set.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import DomainEvent
from porchlight.requests.domain.requests import reason_commitment

HOLD_REASON_MIN, HOLD_REASON_MAX = 10, 2000


class HoldEnd(enum.StrEnum):
    """Why a hold ended before its end date."""

    RELEASED = "released"  # a supervisor let it go
    CASE_CLOSED = "case_closed"  # the case was closed, which ends every hold on it


@dataclass(frozen=True, kw_only=True)
class LegalHoldSet(DomainEvent):
    """Custody: a case's evidence is kept past its retention. The reason is free text,
    never audited: the leaf carries its length and a commitment keyed by a nonce kept in
    the hold's row (see ``RequestRejected``)."""

    kind: ClassVar[str] = "evidence.hold_set"
    hold_id: UUID
    request_id: UUID
    agency_id: UUID
    until: datetime
    reason_chars: int
    reason_commitment: str


@dataclass(frozen=True, kw_only=True)
class LegalHoldReleased(DomainEvent):
    kind: ClassVar[str] = "evidence.hold_released"
    hold_id: UUID
    request_id: UUID
    cause: str


def _reason(text: str | None) -> str:
    text = " ".join((text or "").split())
    if not HOLD_REASON_MIN <= len(text) <= HOLD_REASON_MAX:
        raise ValidationFailed(f"the reason for the hold must be {HOLD_REASON_MIN} to "
                               f"{HOLD_REASON_MAX} characters", field="reason")
    return text


def check_end_date(until: datetime, now: datetime, longest: timedelta) -> None:
    if until <= now:
        raise ValidationFailed("the hold must end in the future", field="until")
    if until > now + longest:
        raise ValidationFailed(f"a hold may last at most {longest.days} days from now "
                               "(this deployment's longest retention)", field="until")


@dataclass(eq=False)
class LegalHold(Entity):
    id: UUID
    request_id: UUID
    agency_id: UUID
    set_by: UUID
    set_by_role: str  # as it was when the hold was set: the owner is told the role
    set_at: datetime
    until: datetime
    reason: str
    reason_nonce: str  # hex; keys the reason's commitment in the audit log
    released_at: datetime | None = None
    released_by: UUID | None = None
    end_cause: str | None = None  # a HoldEnd, once ended before its date

    @classmethod
    def place(cls, *, hold_id: UUID, request_id: UUID, agency_id: UUID, supervisor_id: UUID,
              role: str, reason: str, nonce: str, until: datetime, now: datetime,
              longest: timedelta) -> LegalHold:
        reason = _reason(reason)
        check_end_date(until, now, longest)
        hold = cls(id=hold_id, request_id=request_id, agency_id=agency_id,
                   set_by=supervisor_id, set_by_role=role, set_at=now, until=until,
                   reason=reason, reason_nonce=nonce)
        hold.record(LegalHoldSet(
            actor_id=supervisor_id, hold_id=hold_id, request_id=request_id,
            agency_id=agency_id, until=until, reason_chars=len(reason),
            reason_commitment=reason_commitment(nonce, reason)))
        return hold

    def is_active(self, now: datetime) -> bool:
        return self.released_at is None and now < self.until

    @property
    def stops_at(self) -> datetime:
        """When the hold stops (or will stop) keeping the evidence."""
        return self.released_at if self.released_at is not None else self.until

    def release(self, *, actor_id: UUID, now: datetime, cause: HoldEnd) -> None:
        if not self.is_active(now):
            raise Conflict("this hold has already ended")
        self.released_at, self.released_by, self.end_cause = now, actor_id, cause.value
        self.record(LegalHoldReleased(actor_id=actor_id, hold_id=self.id,
                                      request_id=self.request_id, cause=cause.value))


def deletion_date(received_at: datetime, retention_days: int,
                  holds: Iterable[LegalHold]) -> datetime:
    """When an item is due for purging: the promised retention, counted from its receipt
    or from the end of the latest of its case's holds, whichever is later."""
    start = max([received_at, *(hold.stops_at for hold in holds)])
    return start + timedelta(days=retention_days)


def any_active(holds: Iterable[LegalHold], now: datetime) -> bool:
    return any(hold.is_active(now) for hold in holds)
