"""The resident's side of a video request: the full disclosure, then consent or decline."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from uuid import UUID, uuid4

from porchlight.accounts.domain.agencies import Agency
from porchlight.footage.domain.clips import Clip
from porchlight.kernel.domain.errors import Conflict, NotFound, ValidationFailed
from porchlight.kernel.domain.policies import Actor, require_resident
from porchlight.kernel.services.ports import FootageStore, UnitOfWork
from porchlight.redaction.domain.copies import CopyStatus
from porchlight.requests.domain.consent import (
    Consent,
    ConsentGranted,
    Delivery,
    DeliveryStatus,
    SharingScope,
    check_choice,
)
from porchlight.requests.domain.requests import VideoRequest
from porchlight.requests.services.commands import (
    AskForDeletion,
    DeclineRequest,
    GrantConsent,
    RevokeConsent,
)

DISCLOSURE_VERSION = 2  # 2: the incident's place (the centre of the circle) is shown


@dataclass(frozen=True)
class DisclosedClip:
    id: str
    camera_name: str
    recorded_at: str
    seconds: float


@dataclass(frozen=True)
class Disclosure:
    """Everything a resident is told before choosing; its digest is stored with the consent."""

    version: int
    agency: str
    agency_kind: str
    case_number: str
    incident: str
    incident_time: str
    lat: float
    lon: float
    window_start: str
    window_end: str
    radius_m: int
    description: str
    retention_days: int
    sharing_plan: list[str]
    contact: str
    clips: list[DisclosedClip]

    @property
    def sha256(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class InboxItem:
    delivery: Delivery
    request: VideoRequest
    agency: Agency


def inbox(uow: UnitOfWork, actor: Actor) -> list[InboxItem]:
    with uow.reading():
        resident = require_resident(actor)
        items = []
        for delivery in uow.deliveries.for_resident(resident.id):
            request = uow.requests.get(delivery.request_id)
            items.append(InboxItem(delivery, request, uow.agencies.get(request.agency_id)))
        return items


def _mine(uow: UnitOfWork, actor: Actor, delivery_id: UUID) -> Delivery:
    resident = require_resident(actor)
    delivery = uow.deliveries.get(delivery_id)
    if delivery is None or delivery.resident_id != resident.id:
        raise NotFound("no such request")
    return delivery


def _offered_clips(uow: UnitOfWork, delivery: Delivery, request: VideoRequest) -> list[Clip]:
    offered = []
    for camera_id in delivery.camera_ids:
        for clip in uow.clips.list_for_camera(UUID(camera_id)):
            if clip.is_readable and clip.overlaps(request.window_start, request.window_end):
                offered.append(clip)
    return sorted(offered, key=lambda clip: clip.recorded_at)


def disclosure(uow: UnitOfWork, actor: Actor, delivery_id: UUID) -> tuple[InboxItem, Disclosure]:
    with uow.reading():
        delivery = _mine(uow, actor, delivery_id)
        request = uow.requests.get(delivery.request_id)
        agency = uow.agencies.get(request.agency_id)
        return InboxItem(delivery, request, agency), _disclose(uow, delivery, request, agency)


def _disclose(
    uow: UnitOfWork, delivery: Delivery, request: VideoRequest, agency: Agency
) -> Disclosure:
    names = {str(c.id): c.name for c in uow.cameras.list_by_owner(delivery.resident_id)}
    clips = [DisclosedClip(str(c.id), names.get(str(c.camera_id), "camera"),
                           c.recorded_at.isoformat(), round(c.duration_seconds, 1))
             for c in _offered_clips(uow, delivery, request)]
    return disclosure_of(request, agency, plan_names(uow, request), clips)


def plan_names(uow: UnitOfWork, request: VideoRequest) -> list[str]:
    return [uow.agencies.get(UUID(a)).name for a in request.sharing_plan]


def disclosure_of(request: VideoRequest, agency: Agency, plan: list[str],
                  clips: list[DisclosedClip]) -> Disclosure:
    """What a resident reads about ``request`` (the supervisor sees it with no clips)."""
    incident = (f"Other: {request.incident_other}" if request.incident_other
                else request.incident_type.label)
    return Disclosure(
        version=DISCLOSURE_VERSION, agency=agency.name, agency_kind=agency.kind.label,
        case_number=request.case_number, incident=incident,
        incident_time=request.incident_time.isoformat(), lat=request.lat, lon=request.lon,
        window_start=request.window_start.isoformat(), window_end=request.window_end.isoformat(),
        radius_m=request.radius_m, description=request.description,
        retention_days=request.retention_days, sharing_plan=plan, contact=request.contact,
        clips=clips,
    )


def give_consent(uow: UnitOfWork, actor: Actor, cmd: GrantConsent) -> UUID:
    """Record an immutable consent naming the exact clips, scope and disclosure read."""
    with uow:
        delivery = _mine(uow, actor, cmd.delivery_id)
        request = uow.requests.get(delivery.request_id)
        if not request.accepts_answers:
            raise Conflict("this request is closed")
        shown = _disclose(uow, delivery, request, uow.agencies.get(request.agency_id))
        if shown.sha256 != cmd.disclosure_sha256:
            raise ValidationFailed("the request changed since you read it; read it again")
        if cmd.scope is SharingScope.NAMED_AGENCIES and not request.sharing_plan:
            raise ValidationFailed("this request names no other agencies", field="scope")
        check_choice(set(cmd.clip_ids), {c.id for c in shown.clips})
        blurred = blurred_copies(uow, request, cmd.clip_ids) if cmd.blur else None
        consent = _consent(uow, delivery, request, cmd, shown)
        consent.blurred_copies = blurred
        uow.commit()
        return consent.id


def window_offsets(request: VideoRequest, clip: Clip) -> tuple[float, float]:
    """The seconds of the clip the request's window covers."""
    start = max(0.0, (request.window_start - clip.recorded_at).total_seconds())
    end = min(clip.duration_seconds, (request.window_end - clip.recorded_at).total_seconds())
    return start, end


def blurred_copies(uow: UnitOfWork, request: VideoRequest,
                   clip_ids: frozenset[str]) -> dict[str, str]:
    """For "blur bystanders": the owner's newest approved copy of each chosen clip that
    covers the request's window. Every clip needs one: the owner has seen what is sent."""
    chosen, missing = {}, []
    copies = uow.redactions.for_clips([UUID(c) for c in clip_ids])
    for clip_id in sorted(clip_ids):
        clip = uow.clips.get(UUID(clip_id))
        start, end = window_offsets(request, clip)
        usable = [c for c in copies if str(c.clip_id) == clip_id and c.is_readable
                  and c.state is CopyStatus.APPROVED and c.covers(start, end)]
        if usable:
            chosen[clip_id] = str(usable[0].id)
        else:
            missing.append(clip.recorded_at.strftime("%d %b %H:%M:%S UTC"))
    if missing:
        raise ValidationFailed(
            "to blur bystanders, first make and approve a blurred copy of each chosen "
            f"clip (missing for the clip recorded {', '.join(missing)})", field="blur")
    return chosen


def _consent(uow: UnitOfWork, delivery: Delivery, request: VideoRequest, cmd: GrantConsent,
             shown: Disclosure) -> Consent:
    now = uow.clock.now()
    delivery.mark_shared(now=now)
    consent = Consent(
        id=uuid4(), delivery_id=delivery.id, request_id=request.id,
        resident_id=delivery.resident_id, agency_id=request.agency_id,
        clip_ids=sorted(cmd.clip_ids), scope=cmd.scope.value, share_contact=cmd.share_contact,
        disclosure_sha256=shown.sha256, created_at=now,
    )
    consent.record(ConsentGranted(
        actor_id=delivery.resident_id, consent_id=consent.id, request_id=request.id,
        clips=len(cmd.clip_ids), scope=cmd.scope.value, contact_shared=cmd.share_contact,
        disclosure_sha256=shown.sha256))
    uow.consents.add(consent)
    return consent


def decline(uow: UnitOfWork, actor: Actor, cmd: DeclineRequest) -> None:
    with uow:
        delivery = _mine(uow, actor, cmd.delivery_id)
        delivery.decline(now=uow.clock.now())
        uow.commit()


def answered(delivery: Delivery) -> bool:
    return delivery.status is not DeliveryStatus.WAITING


@dataclass(frozen=True)
class MyConsent:
    consent: Consent
    evidence_opened: bool
    copied: int = 0  # evidence items made so far (a clip gone before its copy has none)


def my_consent(uow: UnitOfWork, actor: Actor, delivery_id: UUID) -> MyConsent | None:
    with uow.reading():
        delivery = _mine(uow, actor, delivery_id)
        consent = uow.consents.for_delivery(delivery.id)
        if consent is None:
            return None
        items = uow.evidence.for_consent(consent.id)  # re-shared copies too
        opened = any(i.first_opened_at for i in items)
        return MyConsent(consent, opened, copied=len([i for i in items if not i.is_copy]))


def revoke_consent(uow: UnitOfWork, store: FootageStore, actor: Actor, cmd: RevokeConsent
                   ) -> None:
    """Withdraw a consent no agency has acted on: its evidence is destroyed now, everywhere.
    The consent's items include the copies re-shared to other agencies (the same consent):
    they are purged with the rest, and an opening of any of them (by the agency or by one
    it shared with) ends the right to revoke, as the agency's own would."""
    with uow:
        delivery = _mine(uow, actor, cmd.delivery_id)
        consent = uow.consents.for_delivery(delivery.id)
        if consent is None:
            raise NotFound("nothing was shared for this request")
        items = list(uow.evidence.for_consent(consent.id))
        now = uow.clock.now()
        consent.revoke(now=now, evidence_opened=any(i.first_opened_at for i in items))
        delivery.status = DeliveryStatus.REVOKED
        for item in items:
            item.purge(now=now, reason="consent_revoked", actor_id=None)
        uow.commit()
    for item in items:
        store.delete(item.object_key)


def ask_for_deletion(uow: UnitOfWork, actor: Actor, cmd: AskForDeletion) -> None:
    """After the agency opened the evidence: the request is recorded and shown to them."""
    with uow:
        delivery = _mine(uow, actor, cmd.delivery_id)
        consent = uow.consents.for_delivery(delivery.id)
        if consent is None:
            raise NotFound("nothing was shared for this request")
        consent.request_deletion(now=uow.clock.now())
        uow.commit()
