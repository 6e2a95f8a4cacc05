"""Answering a resident's deletion request (issue 16 item 6).

Before any holder first plays or downloads an item, taking consent back destroys every
copy (``requests.services.answers.revoke_consent``). After that, the resident can only
*ask* for deletion (``Consent.request_deletion``): each agency holding a live copy of the
consent's footage must answer within the deployment's policy days (default 14), counted
from the request, and the answer is shown to the resident:

* ``deleted`` — the agency's copies of that consent are purged now, by the same path as
  retention (key destroyed in the transaction, object deleted by a job, owner told);
* ``kept`` — kept under a *named* legal hold: one still active on the item's case, set by
  the agency answering. When the hold ends, the item's deletion date follows its
  retention as before.

The answer is written on each of the agency's items of the consent (one answer per
holder and consent, never changed) and recorded as a public custody event of each item,
``evidence.deletion_answered``: the item, the agency, the answer's code and the hold's id
— nothing about the resident (the consent stays off the public log).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.domain.holds import LegalHold
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import DomainEvent

PURGE_REASON = "deletion_requested"  # the evidence.purged reason of a "deleted" answer


class DeletionAnswer(enum.StrEnum):
    DELETED = "deleted"
    KEPT = "kept"  # under a named legal hold


@dataclass(frozen=True, kw_only=True)
class EvidenceDeletionAnswered(DomainEvent):
    """Custody: the holding agency answered the owner's deletion request for this item."""

    kind: ClassVar[str] = "evidence.deletion_answered"
    evidence_id: UUID
    agency_id: UUID
    answer: str  # a DeletionAnswer
    hold_id: UUID | None


def answer_due(requested_at: datetime, days: int) -> datetime:
    """When the holding agency must have answered."""
    return requested_at + timedelta(days=days)


def is_overdue(requested_at: datetime, days: int, answered_at: datetime | None,
               now: datetime) -> bool:
    """Unanswered past the due date, or answered after it."""
    due = answer_due(requested_at, days)
    return (answered_at or now) > due


def check_hold(hold: LegalHold | None, item: EvidenceItem, now: datetime) -> LegalHold:
    """The hold a "kept" answer names: active, on the item's case, set by its holder."""
    if hold is None or hold.request_id != item.request_id or hold.agency_id != item.agency_id:
        raise ValidationFailed("name a legal hold your agency set on this case",
                               field="hold_id")
    if not hold.is_active(now):
        raise ValidationFailed("that legal hold has ended: it keeps nothing", field="hold_id")
    return hold


def answer_item(item: EvidenceItem, answer: DeletionAnswer, hold: LegalHold | None, *,
                actor_id: UUID, role: str, now: datetime) -> None:
    """Record the agency's answer on one of its items; a "deleted" answer purges it."""
    if item.deletion_answer is not None:
        raise Conflict("this deletion request has already been answered")
    if answer is DeletionAnswer.KEPT:
        hold = check_hold(hold, item, now)
    item.deletion_answer = answer.value
    item.deletion_answered_at = now
    item.deletion_answered_role = role
    item.deletion_hold_id = hold.id if answer is DeletionAnswer.KEPT and hold else None
    item.record(EvidenceDeletionAnswered(
        actor_id=actor_id, evidence_id=item.id, agency_id=item.agency_id, answer=answer.value,
        hold_id=item.deletion_hold_id))
    if answer is DeletionAnswer.DELETED:
        item.purge(now=now, reason=PURGE_REASON, actor_id=actor_id)
