"""Legal holds on a case's evidence: set and released by a supervisor of the agency, ended
with the case, shown to the agency's staff with their reason and to each resident whose
footage they keep without it. The rule of the clock is in ``custody.domain.holds``.

Every change to a case's holds sets the deletion date of each of its live evidence items
again (``reschedule``), in the same transaction; the retention sweep checks the holds once
more before it purges anything (``retention.expire_due``), so an item copied while a hold
was being set is not purged under it either.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from porchlight.accounts.domain.accounts import Account
from porchlight.custody.domain.holds import HoldEnd, LegalHold, deletion_date
from porchlight.custody.services.commands import CloseCase, ReleaseLegalHold, SetLegalHold
from porchlight.kernel.domain.errors import Conflict, NotFound
from porchlight.kernel.domain.policies import (
    Actor,
    require_agency_staff,
    require_resident,
    require_supervisor,
)
from porchlight.kernel.services.ports import UnitOfWork
from porchlight.requests.domain.requests import ScopePolicy, VideoRequest


def _supervised(uow: UnitOfWork, actor: Actor, request_id: UUID, doing: str
                ) -> tuple[VideoRequest, Account]:
    """The request, for a supervisor of its agency; 'not found' to other agencies."""
    request = uow.requests.get(request_id)
    if request is None:
        raise NotFound("no such request")
    require_agency_staff(actor, request.agency_id)
    return request, require_supervisor(actor, request.agency_id, doing)


def supervised_request(uow: UnitOfWork, actor: Actor, request_id: UUID, doing: str
                       ) -> VideoRequest:
    """The request, to a supervisor of its agency about to ``doing`` (a page that asks
    first asks only those who may)."""
    with uow.reading():
        return _supervised(uow, actor, request_id, doing)[0]


def reschedule(uow: UnitOfWork, request: VideoRequest, holds: Sequence[LegalHold]) -> None:
    """Each live item of the case is deleted on the date its holds now give. Not the
    copies re-shared to other agencies: a hold on this case does not cover them, and
    their date never passes the promise (custody.domain.reshare)."""
    for item in uow.evidence.for_request(request.id):
        if item.purged_at is None and not item.is_copy:
            item.expires_at = deletion_date(item.received_at, request.retention_days, holds)


def set_hold(uow: UnitOfWork, policy: ScopePolicy, actor: Actor, cmd: SetLegalHold) -> UUID:
    """Keep the case's evidence until the end date at least (at most the deployment's
    longest retention from now); the reason stays with the agency."""
    with uow:
        request, supervisor = _supervised(uow, actor, cmd.request_id, "set a legal hold")
        if request.case_closed_at is not None:
            raise Conflict("this case is closed: its evidence can no longer be held")
        if not request.may_have_evidence:
            raise Conflict("no evidence can come for this request: there is nothing to hold")
        earlier = list(uow.holds.for_request(request.id))
        hold = LegalHold.place(
            hold_id=uuid4(), request_id=request.id, agency_id=request.agency_id,
            supervisor_id=supervisor.id, role=supervisor.staff_role.value, reason=cmd.reason,
            nonce=secrets.token_hex(16), until=cmd.until, now=uow.clock.now(),
            longest=timedelta(days=policy.max_retention_days))
        uow.holds.add(hold)
        reschedule(uow, request, [*earlier, hold])
        uow.commit()
        return hold.id


def release_hold(uow: UnitOfWork, actor: Actor, cmd: ReleaseLegalHold) -> None:
    """Let a hold go: the promised retention runs again from now."""
    with uow:
        request, supervisor = _supervised(uow, actor, cmd.request_id,
                                          "release a legal hold")
        hold = uow.holds.get(cmd.hold_id)
        if hold is None or hold.request_id != request.id:
            raise NotFound("no such hold")
        uow.lock(hold)  # two releases at once: one release, one audit event
        hold.release(actor_id=supervisor.id, now=uow.clock.now(), cause=HoldEnd.RELEASED)
        reschedule(uow, request, uow.holds.for_request(request.id))
        uow.commit()


def close_case(uow: UnitOfWork, actor: Actor, cmd: CloseCase) -> int:
    """Record that the case is over; every hold on it ends now and the promised retention
    runs again from now. Returns how many holds it ended."""
    with uow:
        request, supervisor = _supervised(uow, actor, cmd.request_id, "close a case")
        uow.lock(request)
        now = uow.clock.now()
        request.close_case(supervisor_id=supervisor.id, now=now)
        holds = uow.holds.for_request(request.id)
        ended = [hold for hold in holds if hold.is_active(now)]
        for hold in ended:
            hold.release(actor_id=supervisor.id, now=now, cause=HoldEnd.CASE_CLOSED)
        reschedule(uow, request, holds)
        uow.commit()
        return len(ended)


# ---- what the agency sees ---------------------------------------------------------------


@dataclass(frozen=True)
class HoldView:
    hold: LegalHold
    active: bool
    set_by: str | None  # the colleague's name: staff of the agency see their own staff
    released_by: str | None


@dataclass(frozen=True)
class CaseHolds:
    holds: list[HoldView]  # newest first
    may_hold: bool  # whether a hold can be set now (the case open, evidence possible)
    case_closed_by: str | None
    longest_days: int  # the furthest end date, in days from now


def case_holds(uow: UnitOfWork, policy: ScopePolicy, actor: Actor, request_id: UUID
               ) -> CaseHolds:
    with uow.reading():
        request = uow.requests.get(request_id)
        if request is None:
            raise NotFound("no such request")
        require_agency_staff(actor, request.agency_id)
        now = uow.clock.now()
        views = [HoldView(hold, hold.is_active(now), _name(uow, hold.set_by),
                          _name(uow, hold.released_by))
                 for hold in reversed(uow.holds.for_request(request.id))]
        return CaseHolds(views, request.case_closed_at is None and request.may_have_evidence,
                         _name(uow, request.case_closed_by), policy.max_retention_days)


def _name(uow: UnitOfWork, account_id: UUID | None) -> str | None:
    account = uow.accounts.get(account_id) if account_id is not None else None
    return account.display_name if account is not None else None


# ---- what the owner of the footage sees -------------------------------------------------


@dataclass(frozen=True)
class HoldNotice:
    """A hold as the resident whose footage it keeps is told of it: that it exists, which
    agency set it and in what role, when, until when, and how it ended. Not the reason:
    that is the agency's note about its case (it may name a suspect or a victim)."""

    agency: str
    set_by_role: str  # "supervisor" or "agency admin"
    set_at: datetime
    until: datetime
    active: bool
    released_at: datetime | None
    end_cause: str | None  # "released" or "case_closed" when it ended before its date


@dataclass(frozen=True)
class AgencyCopy:
    """The agency's copies of the resident's clips for one request, while any is kept."""

    copies: int
    delete_by: datetime  # the latest deletion date among them
    holds: list[HoldNotice]  # newest first


def copy_for_owner(uow: UnitOfWork, actor: Actor, delivery_id: UUID) -> AgencyCopy | None:
    """What the agency keeps of what the resident shared for this delivery, and why."""
    with uow.reading():
        resident = require_resident(actor)
        delivery = uow.deliveries.get(delivery_id)
        if delivery is None or delivery.resident_id != resident.id:
            raise NotFound("no such request")
        consent = uow.consents.for_delivery(delivery.id)
        items = [item for item in (uow.evidence.for_consent(consent.id) if consent else [])
                 if item.purged_at is None and not item.is_copy]  # re-shares: shares_for_owner
        if not items:
            return None
        now, first = uow.clock.now(), min(item.received_at for item in items)
        agency = uow.agencies.get(consent.agency_id)
        holds = [HoldNotice(agency.name, hold.set_by_role.replace("_", " "), hold.set_at,
                            hold.until, hold.is_active(now), hold.released_at,
                            hold.end_cause)
                 for hold in reversed(uow.holds.for_request(delivery.request_id))
                 if hold.stops_at > first]  # a hold over before the copies had no part
        return AgencyCopy(len(items), max(item.expires_at for item in items), holds)
