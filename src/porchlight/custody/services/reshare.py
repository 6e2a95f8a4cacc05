"""Re-sharing evidence with another agency, inside the owner's consent; the rules are in
``custody.domain.reshare``.

Staff of the agency holding an item (officers, supervisors and agency admins alike: the
consent decides where footage may go, not the rank of who sends it; every share is a
public audit event and the owner is told at once) share it with a reason. The use case
checks the consent and records the share in one transaction (a refusal is recorded as an
audit event of its own and changes nothing else); the event calls for two jobs
(kernel.services.messagebus): ``evidence.reshare`` makes the destination's copy — the
parent's footage decrypted into a private folder and encrypted again under a key of its
own, as a derivation does — and ``mail.evidence_reshared`` tells the owner which agency,
when and why. Both are idempotent: the copy is the evidence item with the share's id, so
a second run finds it made; a run killed half-way leaves at most an unnamed object, which
the orphan sweep removes (its key carries its time, as clips' keys do).
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid4

from porchlight.accounts.domain.agencies import Agency
from porchlight.accounts.services.credentials import digest
from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.domain.reshare import (
    EvidenceReshareRefused,
    EvidenceShare,
    Refusal,
    clean_reason,
    copy_deletion_date,
    promised_date,
    refuse,
    reshare_refusal,
)
from porchlight.custody.services.commands import ReshareEvidence
from porchlight.custody.services.evidence import _key_context
from porchlight.footage.services.library import Footage, decrypt_to
from porchlight.footage.services.retention import KEY_TIME_FORMAT
from porchlight.kernel.domain.errors import NotFound, PolicyRefused, ValidationFailed
from porchlight.kernel.domain.policies import Actor, require_agency_staff, require_resident
from porchlight.kernel.services.ports import Mailer, OutgoingMail, UnitOfWork
from porchlight.requests.domain.consent import Consent
from porchlight.requests.domain.requests import VideoRequest


def reshare(uow: UnitOfWork, actor: Actor, cmd: ReshareEvidence) -> UUID:
    """Share the item with another agency if the owner's consent allows it; the share's id
    (also the id of the copy a job then makes). A refusal is audited, then raised."""
    with uow:
        item = uow.evidence.get(cmd.evidence_id)
        if item is None:
            raise NotFound("no such evidence")
        staff = require_agency_staff(actor, item.agency_id)
        if item.consent_id is None:  # no consent scope says where it may go: nowhere
            raise PolicyRefused("legal_basis", "evidence delivered under a legal demand "
                                "cannot be shared on", field="to_agency_id")
        uow.lock(item)  # two shares at once: one copy per destination
        now = uow.clock.now()
        clean_reason(cmd.reason)  # bad input first: it is no refusal to audit
        if cmd.until is not None and cmd.until <= now:
            raise ValidationFailed("the copy must be kept until a day after today",
                                   field="until")
        consent, request = uow.consents.get(item.consent_id), uow.requests.get(item.request_id)
        refusal = _refusal(uow, item, consent, request, cmd.to_agency_id, now)
        if refusal is not None:
            known = uow.agencies.get(cmd.to_agency_id) is not None
            uow.record(EvidenceReshareRefused(
                actor_id=staff.id, evidence_id=item.id, from_agency_id=item.agency_id,
                to_agency_id=cmd.to_agency_id if known else None, reason=refusal.value))
            uow.commit()
            raise refuse(refusal)
        share = EvidenceShare.make(
            share_id=uuid4(), item=item, to_agency_id=cmd.to_agency_id, staff_id=staff.id,
            role=staff.staff_role.value, reason=cmd.reason, nonce=secrets.token_hex(16),
            expires_at=copy_deletion_date(promised_date(item, request.retention_days),
                                          cmd.until), now=now)
        uow.shares.add(share)
        uow.commit()  # the copy and the owner's mail are jobs (kernel.services.messagebus)
        return share.id


def _refusal(uow: UnitOfWork, item: EvidenceItem, consent: Consent, request: VideoRequest,
             to_agency_id: UUID, now: datetime) -> Refusal | None:
    if consent.revoked_at is not None:
        return Refusal.CONSENT_REVOKED
    if consent.deletion_requested_at is not None:
        return Refusal.DELETION_REQUESTED
    destination = uow.agencies.get(to_agency_id)
    if destination is None:
        return Refusal.UNKNOWN_AGENCY
    refusal = reshare_refusal(
        consent.sharing_scope, destination.kind,
        named=str(destination.id) in {str(a) for a in request.sharing_plan},
        verified=destination.is_verified, same_agency=destination.id == item.agency_id,
        purged=not item.is_readable)
    if refusal is not None:
        return refusal
    if to_agency_id in _holders(uow, item, now):
        return Refusal.ALREADY_HELD
    if promised_date(item, request.retention_days) <= now:
        return Refusal.RETENTION_ENDED
    return None


def _holders(uow: UnitOfWork, item: EvidenceItem, now: datetime) -> set[UUID]:
    """The agencies holding a live copy of the item's clip under its consent, or about to
    (a share whose copy is still to be made)."""
    holders = {other.agency_id for other in uow.evidence.for_consent(item.consent_id)
               if other.source_clip_id == item.source_clip_id and other.purged_at is None}
    for share in uow.shares.for_consent(item.consent_id):
        if share.source_clip_id != item.source_clip_id or share.expires_at <= now:
            continue
        parent = uow.evidence.get(share.evidence_id)
        if uow.evidence.get(share.id) is None and parent is not None and parent.is_readable:
            holders.add(share.to_agency_id)
    return holders


# ---- the jobs ---------------------------------------------------------------------------


def make_copy(uow: UnitOfWork, kit: Footage, share_id: UUID, workdir: Path) -> bool:
    """The ``evidence.reshare`` job: the destination's copy, once; whether it made it.
    Nothing is made when the parent is gone, the consent was revoked or the copy's date
    has passed."""
    with uow.reading():
        share = uow.shares.get(share_id)
        if share is None or not _copy_due(uow, share):
            return False
        parent = uow.evidence.get(share.evidence_id)
        data_key = kit.vault.open(parent.wrapped_key, context=_key_context(parent.id))
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        plain = Path(folder) / "plain"
        decrypt_to(kit.store, parent.object_key, data_key, parent.size_bytes, plain)
        return _store_copy(uow, kit, share, parent, plain)


def _copy_due(uow: UnitOfWork, share: EvidenceShare) -> bool:
    parent = uow.evidence.get(share.evidence_id)
    consent = uow.consents.get(share.consent_id)
    return (uow.evidence.get(share.id) is None and parent is not None and parent.is_readable
            and consent.revoked_at is None and share.expires_at > uow.clock.now())


def _store_copy(uow: UnitOfWork, kit: Footage, share: EvidenceShare, parent: EvidenceItem,
                plain: Path) -> bool:
    data_key = secrets.token_bytes(32)
    stamp = uow.clock.now().strftime(KEY_TIME_FORMAT)  # the orphan sweep spares it an hour
    key = f"evidence/{share.to_agency_id}/{share.request_id}/{stamp}-{share.id}.video"
    with kit.store.seal(key, plain, data_key) as stored:
        with uow.reading():
            if not _copy_due(uow, share):
                return False  # the staging is discarded
        stored.publish()
    try:
        with uow:
            made = _copy_due(uow, share)
            if made:
                copy = share.copy(parent, object_key=key, sha256=stored.sha256,
                                  size_bytes=stored.size, now=uow.clock.now(),
                                  wrapped_key=kit.vault.seal(data_key,
                                                             context=_key_context(share.id)))
                uow.evidence.add(copy)
                uow.commit()
        if not made:  # revoked or made by another run meanwhile: this object is not needed
            kit.store.delete(key)
        return made
    except BaseException:
        kit.store.delete(key)
        raise


def tell_owner(uow: UnitOfWork, mailer: Mailer, base_url: str, share_id: UUID) -> bool:
    """The ``mail.evidence_reshared`` job: tell the resident whose clip it is which agency
    received a copy, when and why; whether a mail went."""
    with uow.reading():
        share = uow.shares.get(share_id)
        consent = uow.consents.get(share.consent_id) if share is not None else None
        owner = uow.accounts.get(consent.resident_id) if consent is not None else None
        if owner is None or owner.is_disabled:
            return False
        origin, destination = (uow.agencies.get(share.from_agency_id),
                               uow.agencies.get(share.to_agency_id))
        request = uow.requests.get(share.request_id)
    mailer.send(OutgoingMail(
        to=owner.email, subject=f"{origin.name} shared your footage with {destination.name}",
        key=f"evidence-reshared.{digest(str(share_id))[:32]}",
        body=f"{origin.name} shared a copy of the camera footage you gave for its request "
             f"{request.case_number} with {destination.name} ({destination.kind.label}) on "
             f"{share.shared_at:%d %B %Y at %H:%M} UTC.\n\nThe reason it gave: "
             f"{share.reason}\n\nThe copy stays within the scope you chose "
             f"({consent.sharing_scope.label}) and is deleted by {share.expires_at:%d %B %Y} "
             "at the latest. You can see every share on the request's page in your inbox: "
             f"{base_url.rstrip('/')}/inbox/{consent.delivery_id}"))
    return True


# ---- what staff see ---------------------------------------------------------------------


@dataclass(frozen=True)
class ShareView:
    share: EvidenceShare
    to_agency: str
    shared_by: str | None  # the colleague's name, for the sending agency's staff
    copy_state: str  # see copy_state()


@dataclass(frozen=True)
class ShareForm:
    """What the share page shows: the item, where it went, and where it may go."""

    item: EvidenceItem
    request: VideoRequest
    scope_label: str
    destinations: list[Agency]  # every other verified agency (the consent decides on send)
    shares: list[ShareView]
    received_from: str | None  # when the item is itself a copy


def share_form(uow: UnitOfWork, actor: Actor, evidence_id: UUID) -> ShareForm:
    with uow.reading():
        item = uow.evidence.get(evidence_id)
        if item is None or not item.is_readable or item.consent_id is None:
            raise NotFound("no such evidence")
        staff = require_agency_staff(actor, item.agency_id)
        consent, request = uow.consents.get(item.consent_id), uow.requests.get(item.request_id)
        others = [a for a in uow.agencies.list()
                  if a.is_verified and a.id != staff.agency_id]
        return ShareForm(item, request, consent.sharing_scope.label,
                         sorted(others, key=lambda a: a.name), shares_of(uow, item.id),
                         _origin(uow, item))


def shares_of(uow: UnitOfWork, evidence_id: UUID) -> list[ShareView]:
    """The item's re-shares, oldest first (to be called inside a unit of work)."""
    views = []
    for share in uow.shares.for_evidence(evidence_id):
        by = uow.accounts.get(share.shared_by)
        views.append(ShareView(share, uow.agencies.get(share.to_agency_id).name,
                               by.display_name if by is not None else None,
                               copy_state(uow, share)))
    return views


def copy_state(uow: UnitOfWork, share: EvidenceShare) -> str:
    """"kept", "deleted", "pending" (its job has yet to run) or "not_made" (the parent or
    the consent went first, or its date passed)."""
    copy = uow.evidence.get(share.id)
    if copy is not None:
        return "deleted" if copy.purged_at is not None else "kept"
    return "pending" if _copy_due(uow, share) else "not_made"


def request_shares(uow: UnitOfWork, actor: Actor, request_id: UUID) -> dict[UUID, list[ShareView]]:
    """Each of the agency's items of the request, with the shares it made of it."""
    with uow.reading():
        request = uow.requests.get(request_id)
        if request is None:
            raise NotFound("no such request")
        require_agency_staff(actor, request.agency_id)
        return {item.id: shares_of(uow, item.id) for item in uow.evidence.for_request(request_id)
                if item.agency_id == request.agency_id}


def _origin(uow: UnitOfWork, item: EvidenceItem) -> str | None:
    if not item.is_copy:
        return None
    share = uow.shares.get(item.id)
    agency = uow.agencies.get(share.from_agency_id) if share is not None else None
    return agency.name if agency is not None else None


@dataclass(frozen=True)
class ReceivedItem:
    item: EvidenceItem
    from_agency: str
    case_number: str  # the sending agency's case
    shared_at: datetime
    reason: str


def received_evidence(uow: UnitOfWork, actor: Actor) -> list[ReceivedItem]:
    """The copies other agencies shared with the caller's agency, still kept, newest first."""
    with uow.reading():
        staff = require_agency_staff(actor)
        found = []
        for item in uow.evidence.received_by(staff.agency_id):
            share = uow.shares.get(item.id)
            if not item.is_readable or share is None:
                continue
            found.append(ReceivedItem(item, uow.agencies.get(share.from_agency_id).name,
                                      uow.requests.get(item.request_id).case_number,
                                      share.shared_at, share.reason))
        return found


# ---- what the owner of the footage sees -------------------------------------------------


@dataclass(frozen=True)
class ShareNotice:
    """A re-share as the owner is told of it: which agency passed it to which, when, why,
    and whether the copy is still kept (and until when at most)."""

    from_agency: str
    to_agency: str
    to_kind: str
    shared_at: datetime
    reason: str
    delete_by: datetime
    copy_state: str  # see copy_state()


def shares_for_owner(uow: UnitOfWork, actor: Actor, delivery_id: UUID) -> list[ShareNotice]:
    with uow.reading():
        resident = require_resident(actor)
        delivery = uow.deliveries.get(delivery_id)
        if delivery is None or delivery.resident_id != resident.id:
            raise NotFound("no such request")
        consent = uow.consents.for_delivery(delivery.id)
        if consent is None:
            return []
        notices = []
        for share in uow.shares.for_consent(consent.id):
            to = uow.agencies.get(share.to_agency_id)
            notices.append(ShareNotice(
                uow.agencies.get(share.from_agency_id).name, to.name, to.kind.label,
                share.shared_at, share.reason, share.expires_at, copy_state(uow, share)))
        return notices
