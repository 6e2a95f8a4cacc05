"""Video requests from the agency's side: create under the scope policy, approve, deliver, close."""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID, uuid4

from porchlight.kernel.domain.errors import NotFound, PolicyRefused
from porchlight.kernel.domain.geo import within_radius
from porchlight.kernel.domain.policies import Actor, require_agency_staff, require_supervisor
from porchlight.kernel.services.ports import Mailer, OutgoingMail, UnitOfWork
from porchlight.requests.domain.consent import (
    Delivery,
    DeliveryCreated,
    DeliveryStatus,
    RequestDelivered,
    group_count,
)
from porchlight.requests.domain.requests import (
    RequestCreated,
    RequestDraft,
    RequestRefused,
    RequestStatus,
    ScopePolicy,
    VideoRequest,
    check_scope,
)
from porchlight.requests.services.commands import (
    ApproveVideoRequest,
    CreateVideoRequest,
    RejectVideoRequest,
    WithdrawVideoRequest,
)


@dataclass(frozen=True)
class RequestsKit:
    policy: ScopePolicy
    mailer: Mailer
    base_url: str


log = logging.getLogger(__name__)


def create_request(uow: UnitOfWork, kit: RequestsKit, actor: Actor, cmd: CreateVideoRequest
                   ) -> UUID:
    """Check the scope rules; send at once, or queue for a supervisor. Refusals are audited."""
    draft = cmd.draft
    with uow:
        officer = require_agency_staff(actor)
        agency = uow.agencies.get(officer.agency_id)
        now = uow.clock.now()
        try:
            decision = check_scope(draft, agency, kit.policy, now)
            _check_plan(uow, draft, agency.id)
        except PolicyRefused as refused:
            uow.record(RequestRefused(actor_id=officer.id, agency_id=agency.id,
                                      reason=refused.rule))
            uow.commit()
            raise
        request = _new_request(officer.id, agency.id, draft, now, decision.needs_supervisor)
        if not decision.needs_supervisor:
            request.open(now=now, deadline=kit.policy.response_deadline, actor_id=officer.id)
        uow.requests.add(request)
        uow.commit()  # an open request's delivery is a job (kernel.services.messagebus)
    return request.id


def _check_plan(uow: UnitOfWork, draft: RequestDraft, own_agency: UUID) -> None:
    """Other agencies, each once: sharing with itself is no sharing, and a name twice
    would read to residents as two agencies."""
    if own_agency in draft.sharing_plan:
        raise PolicyRefused("sharing_plan_own_agency", "the sharing plan names other agencies; "
                            "yours has the footage already", field="sharing_plan")
    if len(set(draft.sharing_plan)) != len(draft.sharing_plan):
        raise PolicyRefused("sharing_plan_repeated", "the sharing plan names an agency twice",
                            field="sharing_plan")
    for agency_id in draft.sharing_plan:
        named = uow.agencies.get(agency_id)
        if named is None or not named.is_verified:
            raise PolicyRefused("sharing_plan_unknown_agency",
                                "the sharing plan names an agency that is not on Porchlight",
                                field="sharing_plan")


def _new_request(
    officer_id: UUID, agency_id: UUID, draft: RequestDraft, now, needs_supervisor: bool
) -> VideoRequest:
    request = VideoRequest(
        id=uuid4(), agency_id=agency_id, created_by=officer_id, case_number=draft.case_number,
        incident_type=draft.incident_type, incident_other=draft.incident_other,
        incident_time=draft.incident_time, lat=draft.location.lat, lon=draft.location.lon,
        radius_m=draft.radius_m, window_start=draft.window_start, window_end=draft.window_end,
        description=" ".join(draft.description.split()), retention_days=draft.retention_days,
        sharing_plan=[str(a) for a in draft.sharing_plan], contact=draft.contact,
        status=RequestStatus.AWAITING_APPROVAL, created_at=now,
    )
    request.record(RequestCreated(
        actor_id=officer_id, request_id=request.id, agency_id=agency_id,
        needs_approval=needs_supervisor, radius_m=draft.radius_m,
        window_minutes=request.window_minutes))
    return request


def own_request(uow: UnitOfWork, actor: Actor, request_id: UUID) -> VideoRequest:
    request = uow.requests.get(request_id)
    if request is None:
        raise NotFound("no such request")
    require_agency_staff(actor, request.agency_id)
    return request


def approve(uow: UnitOfWork, kit: RequestsKit, actor: Actor, cmd: ApproveVideoRequest) -> None:
    with uow:
        request = own_request(uow, actor, cmd.request_id)
        supervisor = require_supervisor(actor, request.agency_id)
        request.approve(supervisor_id=supervisor.id, justification=cmd.justification,
                        now=uow.clock.now(), deadline=kit.policy.response_deadline)
        uow.commit()  # delivery follows as a job (kernel.services.messagebus)


def reject(uow: UnitOfWork, actor: Actor, cmd: RejectVideoRequest) -> None:
    """Say no with a reason the officer reads; the audit log gets its length and a
    commitment keyed by a fresh nonce, never the text."""
    with uow:
        request = own_request(uow, actor, cmd.request_id)
        supervisor = require_supervisor(actor, request.agency_id)
        request.reject(supervisor_id=supervisor.id, reason=cmd.reason,
                       nonce=secrets.token_hex(16), now=uow.clock.now())
        uow.commit()


def withdraw(uow: UnitOfWork, actor: Actor, cmd: WithdrawVideoRequest) -> None:
    with uow:
        request = own_request(uow, actor, cmd.request_id)
        request.withdraw(actor_id=actor.id, now=uow.clock.now())
        uow.commit()


def deliver(uow: UnitOfWork, kit: RequestsKit, request_id: UUID) -> int:
    """One delivery per resident with an opted-in camera in range and footage in the window.

    A job: idempotent (a resident already reached is skipped) and resumable (a request
    is marked delivered only when done, so the worker retries an interrupted one).
    """
    with uow.reading():  # the search reads much and writes nothing: no write lock for it
        request = uow.requests.get(request_id)
        if request is None or request.status is not RequestStatus.OPEN:
            return 0
        found = _cameras_with_footage(uow, request)
    with uow:
        request = uow.requests.get(request_id)
        if request is None:
            return 0
        uow.lock(request)  # two runs at once: the second waits, then sees who was reached
        if request.status is not RequestStatus.OPEN:
            return 0  # withdrawn or closed meanwhile
        reached = {d.resident_id for d in uow.deliveries.for_request(request.id)}
        fresh = _still_eligible(uow, request, {
            resident_id: camera_ids for resident_id, camera_ids in found.items()
            if resident_id not in reached})
        new = [_delivery(uow, request, resident_id, camera_ids)
               for resident_id, camera_ids in fresh.items()]
        if new or request.delivered_at is None:  # a repeat that reached no one is not news
            total = len(reached) + len(new)
            request.record(RequestDelivered(
                actor_id=None, request_id=request.id,
                residents=group_count(total, kit.policy.min_group_size)))
        request.delivered_at = uow.clock.now()
        uow.commit()
    return len(new)


def send_request_notice(uow: UnitOfWork, kit: RequestsKit, delivery_id: UUID) -> bool:
    """The job that mails one resident about a request that reached them; whether it did.

    Marked notified only after the message was handed to the mail server: a failure raises
    and the job is tried again later (and only this resident's). Sent with an idempotency
    key as its Message-ID, so a retry after a crash between sending and marking is the
    same message, which mail clients show once."""
    with uow.reading():
        delivery = uow.deliveries.get(delivery_id)
        if delivery is None or delivery.notified_at is not None:
            return False
        request = uow.requests.get(delivery.request_id)
        if request is None or request.status is not RequestStatus.OPEN:
            return False  # withdrawn or closed before the mail went: nothing to say
        email = uow.accounts.get(delivery.resident_id).email
    kit.mailer.send(_request_mail(kit, email, key=f"request-notice.{delivery_id}"))
    with uow:
        delivery = uow.deliveries.get(delivery_id)
        if delivery is not None and delivery.notified_at is None:
            delivery.notified_at = uow.clock.now()
            uow.commit()
    return True


REQUEST_MAIL_SUBJECT = "A video request for your camera"


def _request_mail(kit: RequestsKit, email: str, key: str) -> OutgoingMail:
    return OutgoingMail(
        to=email, subject=REQUEST_MAIL_SUBJECT, key=key,
        body="An agency has asked residents near an incident for camera footage.\n\n"
             f"Read what they ask and decide, clip by clip: {kit.base_url}/inbox\n\n"
             "Declining or ignoring it has no consequence; the agency never learns who did.")


def _cameras_with_footage(uow: UnitOfWork, request: VideoRequest) -> dict[UUID, list[str]]:
    cameras = uow.cameras.within(request.location, request.radius_m, opted_in_only=True)
    with_footage = uow.clips.cameras_with_footage(
        [camera.id for camera in cameras], request.window_start, request.window_end)
    found: dict[UUID, list[str]] = defaultdict(list)
    for camera in cameras:
        if camera.id in with_footage:
            found[camera.owner_id].append(str(camera.id))
    return found


def _still_eligible(
    uow: UnitOfWork, request: VideoRequest, found: dict[UUID, list[str]]
) -> dict[UUID, list[str]]:
    """The search ran in a snapshot, before the write: check again, inside it, the few
    cameras about to be named — still opted in, same owner, in range, with footage in
    the window — so an opt-out or a deletion made in between is honoured."""
    cameras = {}
    for resident_id, camera_ids in found.items():
        for camera_id in camera_ids:
            camera = uow.cameras.get(UUID(camera_id))
            if (camera is not None and camera.opted_in and camera.owner_id == resident_id
                    and within_radius(request.location, request.radius_m, camera.location)):
                cameras[camera.id] = camera
    with_footage = uow.clips.cameras_with_footage(
        list(cameras), request.window_start, request.window_end)
    fresh: dict[UUID, list[str]] = defaultdict(list)
    for camera in cameras.values():
        if camera.id in with_footage:
            fresh[camera.owner_id].append(str(camera.id))
    return fresh


def _delivery(
    uow: UnitOfWork, request: VideoRequest, resident_id: UUID, camera_ids: list[str]
) -> Delivery:
    delivery = Delivery(id=uuid4(), request_id=request.id, resident_id=resident_id,
                        camera_ids=sorted(camera_ids), created_at=uow.clock.now(),
                        status=DeliveryStatus.WAITING, notified_at=None)
    delivery.record(DeliveryCreated(actor_id=None, resident_id=resident_id,
                                    delivery_id=delivery.id))
    uow.deliveries.add(delivery)
    return delivery


def close_due(uow: UnitOfWork) -> int:
    """The worker's pass: close the requests whose answering time is over."""
    with uow:
        closed = sum(r.close_if_due(uow.clock.now()) for r in uow.requests.due_to_close(
            uow.clock.now()))
        uow.commit()
    return closed


def agency_requests(uow: UnitOfWork, actor: Actor) -> list[VideoRequest]:
    with uow.reading():
        staff = require_agency_staff(actor)
        return list(uow.requests.list_for_agency(staff.agency_id))


@dataclass(frozen=True)
class RequestCounts:
    """What an agency may know of the answers: never who, and only in large enough groups."""

    delivered: int | None
    shared: int
    declined: int | None
    no_response: int | None
    deletion_requests: int


def counts(uow: UnitOfWork, kit: RequestsKit, actor: Actor, request_id: UUID) -> RequestCounts:
    with uow.reading():
        request = own_request(uow, actor, request_id)
        deliveries = list(uow.deliveries.for_request(request.id))
        consents = list(uow.consents.for_request(request.id))
        shared = sum(1 for c in consents if c.revoked_at is None)
        declined = sum(1 for d in deliveries if d.status is DeliveryStatus.DECLINED)
        silent = sum(1 for d in deliveries if d.status is DeliveryStatus.WAITING)
        closed = request.status in (RequestStatus.CLOSED, RequestStatus.WITHDRAWN)
        floor = kit.policy.min_group_size
        return RequestCounts(
            delivered=len(deliveries) if len(deliveries) >= floor else None, shared=shared,
            declined=declined if closed and declined >= floor else None,
            no_response=silent if closed and silent >= floor else None,
            deletion_requests=sum(1 for c in consents if c.deletion_requested_at),
        )


def get_request(uow: UnitOfWork, actor: Actor, request_id: UUID) -> VideoRequest:
    with uow.reading():
        return own_request(uow, actor, request_id)


def awaiting_approval(uow: UnitOfWork, actor: Actor) -> list[VideoRequest]:
    with uow.reading():
        staff = require_agency_staff(actor)
        return [r for r in uow.requests.list_for_agency(staff.agency_id)
                if r.status is RequestStatus.AWAITING_APPROVAL]
