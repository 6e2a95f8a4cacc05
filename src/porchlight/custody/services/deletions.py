"""Deletion requests as agency tasks, and their answers (rules: ``custody.domain.deletion``).

A resident's deletion request (``Consent.request_deletion``) becomes a task for every
agency holding a live copy of that consent's footage: it lists them on its dashboard
with the due date, overdue ones flagged. A supervisor or agency admin answers: "deleted"
purges the agency's items of that consent by the retention path (key destroyed now,
``evidence.delete`` job for the object, ``mail.evidence_purged`` tells the owner), "kept"
names an active legal hold on the case. The owner sees the answer (or that it is late) on
the request's page and on the "Where is my footage" page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from porchlight.custody.domain.deletion import (
    DeletionAnswer,
    answer_due,
    answer_item,
    is_overdue,
)
from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.domain.holds import LegalHold
from porchlight.custody.services.commands import AnswerDeletionRequest
from porchlight.kernel.domain.errors import Conflict, NotFound, ValidationFailed
from porchlight.kernel.domain.policies import (
    Actor,
    require_agency_staff,
    require_resident,
    require_supervisor,
)
from porchlight.kernel.services.ports import UnitOfWork


@dataclass(frozen=True)
class DeletionTask:
    """One owner's deletion request as the holding agency sees it (never who asked)."""

    consent_id: UUID
    request_id: UUID
    case_number: str
    requested_at: datetime
    due: datetime
    overdue: bool
    items: list[EvidenceItem]  # the agency's items of the consent
    answer: str | None  # "deleted" or "kept" once answered
    answered_at: datetime | None
    holds: list[LegalHold]  # the active holds the agency set on the case: a "kept" answer

    @property
    def is_open(self) -> bool:
        return self.answer is None and any(i.purged_at is None for i in self.items)


def agency_tasks(uow: UnitOfWork, actor: Actor, *, answer_days: int) -> list[DeletionTask]:
    """The caller's agency's deletion requests: open ones first, the most urgent first."""
    with uow.reading():
        staff = require_agency_staff(actor)
        items = list(uow.evidence.deletion_requested(staff.agency_id))
        if not items:
            return []
        consents = uow.consents.get_many([i.consent_id for i in items])
        requests = uow.requests.get_many([i.request_id for i in items])
        holds: dict[UUID, list[LegalHold]] = defaultdict(list)
        for hold in uow.holds.for_requests(list(requests)):
            holds[hold.request_id].append(hold)
        now = uow.clock.now()
    grouped: dict[UUID, list[EvidenceItem]] = defaultdict(list)
    for item in items:
        grouped[item.consent_id].append(item)
    tasks = [_task(consents[cid], requests[group[0].request_id], group,
                   holds[group[0].request_id], staff.agency_id, now, answer_days)
             for cid, group in grouped.items()]
    tasks = [t for t in tasks if t.is_open or t.answer is not None]
    return sorted(tasks, key=lambda t: (not t.is_open, t.due))


def _task(consent, request, items: list[EvidenceItem], holds: list[LegalHold],
          agency_id: UUID, now: datetime, days: int) -> DeletionTask:
    requested = consent.deletion_requested_at
    answered = next((i for i in items if i.deletion_answer is not None), None)
    answered_at = answered.deletion_answered_at if answered else None
    return DeletionTask(
        consent.id, request.id, request.case_number, requested, answer_due(requested, days),
        is_overdue(requested, days, answered_at, now), items,
        answered.deletion_answer if answered else None, answered_at,
        [h for h in holds if h.is_active(now) and h.agency_id == agency_id])


def answer_deletion(uow: UnitOfWork, actor: Actor, cmd: AnswerDeletionRequest) -> int:
    """Answer for the caller's agency; how many of its items the answer covered. Other
    agencies (and unknown consents) are told it does not exist; officers may not answer."""
    try:
        answer = DeletionAnswer(cmd.answer)
    except ValueError:
        raise ValidationFailed("answer \"deleted\" or \"kept\"", field="answer") from None
    with uow:
        staff = require_agency_staff(actor)
        consent = uow.consents.get(cmd.consent_id)
        items = [i for i in (uow.evidence.for_consent(consent.id) if consent else [])
                 if i.agency_id == staff.agency_id]
        if not items:
            raise NotFound("no such deletion request")
        supervisor = require_supervisor(actor, staff.agency_id, "answer a deletion request")
        if consent.deletion_requested_at is None:
            raise Conflict("the owner has not asked for this footage to be deleted")
        if any(i.deletion_answer is not None for i in items):
            raise Conflict("this deletion request has already been answered")
        todo = [i for i in items if i.purged_at is None]
        if not todo:
            raise Conflict("your agency's copies of this footage are already deleted")
        hold = uow.holds.get(cmd.hold_id) if cmd.hold_id is not None else None
        now = uow.clock.now()
        for item in todo:
            uow.lock(item)  # two answers at once: one answer, one set of audit events
            answer_item(item, answer, hold, actor_id=supervisor.id,
                        role=supervisor.staff_role.value, now=now)
        uow.commit()  # a purge's object and the owner's mail are jobs (messagebus)
        return len(todo)


# ---- what the owner sees on the request's page ------------------------------------------


@dataclass(frozen=True)
class OwnerAnswer:
    agency: str
    due: datetime
    overdue: bool
    answer: str | None  # None: not answered (yet)
    answered_at: datetime | None
    hold_until: datetime | None  # a "kept" answer: the named hold's end date
    hold_active: bool
    gone: bool  # every copy the agency held is deleted (by its answer or otherwise)


def answers_for_owner(uow: UnitOfWork, actor: Actor, delivery_id: UUID, *,
                      answer_days: int) -> list[OwnerAnswer]:
    with uow.reading():
        resident = require_resident(actor)
        delivery = uow.deliveries.get(delivery_id)
        if delivery is None or delivery.resident_id != resident.id:
            raise NotFound("no such request")
        consent = uow.consents.for_delivery(delivery.id)
        if consent is None or consent.deletion_requested_at is None:
            return []
        requested, now = consent.deletion_requested_at, uow.clock.now()
        by_agency: dict[UUID, list[EvidenceItem]] = defaultdict(list)
        for item in uow.evidence.for_consent(consent.id):
            if item.purged_at is None or item.purged_at > requested:
                by_agency[item.agency_id].append(item)
        found = []
        for agency_id, items in by_agency.items():
            answered = next((i for i in items if i.deletion_answer is not None), None)
            hold = (uow.holds.get(answered.deletion_hold_id)
                    if answered and answered.deletion_hold_id else None)
            settled = (answered.deletion_answered_at if answered else None) or (
                max(i.purged_at for i in items) if all(i.purged_at for i in items) else None)
            found.append(OwnerAnswer(
                uow.agencies.get(agency_id).name, answer_due(requested, answer_days),
                is_overdue(requested, answer_days, settled, now),
                answered.deletion_answer if answered else None,
                answered.deletion_answered_at if answered else None,
                hold.until if hold else None, hold.is_active(now) if hold else False,
                all(i.purged_at is not None for i in items)))
        return found
