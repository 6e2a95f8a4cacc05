"""What agency staff see of one of their requests before and after deciding on it.

A supervisor approves what they can see: who asked, the incident, its place and time,
the window, radius and retention, the agencies in the sharing plan, why the request goes
beyond an officer's own limits, and the disclosure exactly as residents will read it.
Only the agency's own staff get here (the request is "not found" to anyone else), so the
names of its staff are shown to colleagues only.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from porchlight.accounts.domain.agencies import Agency
from porchlight.kernel.domain.policies import Actor, require_agency_staff
from porchlight.kernel.services.ports import UnitOfWork
from porchlight.requests.domain.requests import ScopePolicy, VideoRequest, over_officer_limits
from porchlight.requests.services.answers import Disclosure, disclosure_of
from porchlight.requests.services.video_requests import own_request


@dataclass(frozen=True)
class RequestReview:
    request: VideoRequest
    requested_by: str
    approved_by: str | None
    rejected_by: str | None
    sharing_plan: list[Agency]
    over_officer_limits: tuple[str, ...]
    residents_read: Disclosure  # the disclosure with no clips: those are each resident's own


def review(uow: UnitOfWork, policy: ScopePolicy, actor: Actor, request_id: UUID
           ) -> RequestReview:
    with uow.reading():
        request = own_request(uow, actor, request_id)
        plan = [uow.agencies.get(UUID(a)) for a in request.sharing_plan]
        return RequestReview(
            request=request,
            requested_by=_name(uow, request.created_by),
            approved_by=_name(uow, request.approved_by),
            rejected_by=_name(uow, request.rejected_by),
            sharing_plan=plan,
            over_officer_limits=over_officer_limits(
                request.window_end - request.window_start, request.radius_m, policy),
            residents_read=disclosure_of(request, uow.agencies.get(request.agency_id),
                                         [a.name for a in plan], []),
        )


def _name(uow: UnitOfWork, account_id: UUID | None) -> str | None:
    if account_id is None:
        return None
    account = uow.accounts.get(account_id)
    return account.display_name if account is not None else None


@dataclass(frozen=True)
class FormChoices:
    agency: Agency  # the officer's own: the map of a new request starts at its centre
    sharing_plan: list[Agency]  # every other verified agency, which the plan may name


def form_choices(uow: UnitOfWork, actor: Actor) -> FormChoices:
    with uow.reading():
        staff = require_agency_staff(actor)
        others = sorted((a for a in uow.agencies.list()
                         if a.is_verified and a.id != staff.agency_id), key=lambda a: a.name)
        return FormChoices(uow.agencies.get(staff.agency_id), others)
