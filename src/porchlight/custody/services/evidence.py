"""Evidence: derive the agency's trimmed, separately encrypted copy of each consented clip.

The derived copy covers the request's window only (stream copy from the keyframe before
it), is hashed and encrypted into staging under its own data key, and published unless
the consent was revoked meanwhile; its row keeps the parent clip's SHA-256 and its own,
and the custody event `evidence.received` is written with it.
Derivation is a job: idempotent per (consent, clip), so a retry after a crash finishes
what is missing.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

from porchlight.accounts.services import registration
from porchlight.accounts.services.credentials import Security
from porchlight.custody.domain.evidence import EvidenceItem, EvidenceReceived
from porchlight.custody.domain.holds import deletion_date
from porchlight.footage.domain.clips import Clip
from porchlight.footage.services.library import Footage, OpenClip, clip_data_key, decrypt_to
from porchlight.footage.services.retention import KEY_TIME_FORMAT
from porchlight.kernel.domain.errors import NotFound
from porchlight.kernel.domain.policies import Actor, actor_id, require_agency_staff
from porchlight.kernel.services.ports import UnitOfWork
from porchlight.redaction.domain.copies import RedactedCopy
from porchlight.redaction.services.copies import copy_key_context
from porchlight.requests.domain.consent import Consent, ContactDisclosed
from porchlight.requests.domain.requests import VideoRequest
from porchlight.requests.services.answers import window_offsets


def _key_context(evidence_id: UUID) -> bytes:
    return f"evidence:{evidence_id}".encode()


def derive_for_consent(uow: UnitOfWork, kit: Footage, consent_id: UUID, workdir: Path,
                       progress: Callable[[int, int], None] | None = None) -> int:
    """Make the evidence items a consent calls for that do not exist yet; returns how many.
    ``progress(done, total)`` is told after each one (a job shows it on the page).
    A clip the owner chose to blur is taken from the approved redacted copy the consent
    names, never from the clip itself."""
    with uow.reading():
        consent = uow.consents.get(consent_id)
        if consent is None or consent.revoked_at is not None:
            return 0
        request = uow.requests.get(consent.request_id)
        done = {str(item.source_clip_id) for item in uow.evidence.for_consent(consent.id)}
        todo = [uow.clips.get(UUID(c)) for c in consent.clip_ids if c not in done]
        sources = []
        for clip in todo:
            if clip is None or not clip.is_readable:
                continue
            copy_id = (consent.blurred_copies or {}).get(str(clip.id))
            if copy_id is None:
                sources.append((OpenClip(clip, clip_data_key(kit, clip)), None))
                continue
            copy = uow.redactions.get(UUID(copy_id))
            if copy is None or not copy.is_readable:
                continue  # shredded with its clip: nothing may be sent in its place
            key = kit.vault.open(copy.wrapped_key, context=copy_key_context(copy.id))
            sources.append((OpenClip(clip, key), copy))
    for done, (source, copy) in enumerate(sources, start=1):
        _derive_one(uow, kit, consent, request, source, workdir, copy)
        if progress is not None:
            progress(done, len(sources))
    return len(sources)


def _derive_one(
    uow: UnitOfWork, kit: Footage, consent: Consent, request: VideoRequest, source: OpenClip,
    workdir: Path, copy: RedactedCopy | None = None,
) -> None:
    clip = source.clip
    start, end = window_offsets(request, clip)
    shift = copy.offset if copy is not None else 0.0  # a copy may start later than its clip
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        plain, trimmed = Path(folder) / "source", Path(folder) / "trimmed"
        stored = copy or clip  # the approved blurred copy, when the owner chose one
        decrypt_to(kit.store, stored.object_key, source.data_key, stored.size_bytes, plain)
        cut = kit.video.trim(plain, trimmed, start - shift, end - shift)
        _store_item(uow, kit, consent, request, clip, trimmed, cut.start_seconds + shift,
                    cut.end_seconds + shift, cut.info.container,
                    copy.id if copy is not None else None)


def _decrypt_to(kit: Footage, source: OpenClip, target: Path) -> None:
    decrypt_to(kit.store, source.clip.object_key, source.data_key, source.clip.size_bytes,
               target)


def _store_item(
    uow: UnitOfWork, kit: Footage, consent: Consent, request: VideoRequest, clip: Clip,
    trimmed: Path, start: float, end: float, container: str,
    redacted_copy_id: UUID | None = None,
) -> None:
    evidence_id, data_key = uuid4(), secrets.token_bytes(32)
    # named with the time, as clips are, so the orphan sweep spares a copy in flight
    stamp = uow.clock.now().strftime(KEY_TIME_FORMAT)
    key = f"evidence/{request.agency_id}/{request.id}/{stamp}-{evidence_id}.video"
    with kit.store.seal(key, trimmed, data_key) as stored:
        with uow.reading():
            if uow.consents.get(consent.id).revoked_at is not None:
                return  # revoked while this copy was being made: the staging is discarded
        stored.publish()
    try:
        with uow:
            revoked = uow.consents.get(consent.id).revoked_at is not None
            if not revoked:
                now = uow.clock.now()
                item = EvidenceItem(
                    id=evidence_id, consent_id=consent.id, request_id=request.id,
                    agency_id=request.agency_id, source_clip_id=clip.id,
                    source_sha256=clip.sha256, sha256=stored.sha256, size_bytes=stored.size,
                    container=container, start_offset_seconds=start, end_offset_seconds=end,
                    covers_from=clip.recorded_at + timedelta(seconds=start),
                    covers_to=clip.recorded_at + timedelta(seconds=end), object_key=key,
                    wrapped_key=kit.vault.seal(data_key, context=_key_context(evidence_id)),
                    received_at=now, expires_at=deletion_date(
                        now, request.retention_days, uow.holds.for_request(request.id)),
                    redacted_copy_id=redacted_copy_id,
                )
                item.record(EvidenceReceived(actor_id=None, evidence_id=evidence_id,
                                             request_id=request.id, agency_id=request.agency_id,
                                             source_sha256=clip.sha256, sha256=item.sha256))
                uow.evidence.add(item)
                uow.commit()
        if revoked:  # revoked since the check above; deleted outside the transaction
            kit.store.delete(key)
    except BaseException:
        kit.store.delete(key)
        raise


def agency_evidence(uow: UnitOfWork, actor: Actor, request_id: UUID) -> list[EvidenceItem]:
    """What the agency received for a request: items only, never who gave them (nor the
    copies it re-shared to other agencies: those are theirs)."""
    with uow.reading():
        request = uow.requests.get(request_id)
        if request is None:
            raise NotFound("no such request")
        require_agency_staff(actor, request.agency_id)
        return [item for item in uow.evidence.for_request(request_id)
                if item.is_readable and item.agency_id == request.agency_id]


def open_evidence(
    uow: UnitOfWork, kit: Footage, actor: Actor, evidence_id: UUID, *, record: bool
) -> tuple[EvidenceItem, bytes]:
    """Staff of the receiving agency open an item; the first opening ends revocability."""
    with uow:
        item = uow.evidence.get(evidence_id)
        if item is None or not item.is_readable:
            raise NotFound("no such evidence")
        require_agency_staff(actor, item.agency_id)
        if record:
            item.opened(actor_id=actor_id(actor), now=uow.clock.now())
            uow.commit()
        return item, kit.vault.open(item.wrapped_key, context=_key_context(item.id))


@dataclass(frozen=True)
class SharedContact:
    """Contact details a resident chose to give this agency, for this request only."""

    display_name: str
    email: str
    postal_address: str | None


def shared_contacts(
    uow: UnitOfWork, sec: Security, actor: Actor, request_id: UUID
) -> list[SharedContact]:
    """Only residents who ticked the box, only while their consent stands; each view audited.
    Looked up without the write lock (the request page shows this on every view); a
    write opens only when there is a contact to disclose, and checks the consents again."""
    with uow.reading():
        request = uow.requests.get(request_id)
        if request is None:
            raise NotFound("no such request")
        require_agency_staff(actor, request.agency_id)
        if not any(consent.share_contact and consent.revoked_at is None
                   for consent in uow.consents.for_request(request.id)):
            return []
    with uow:
        request = uow.requests.get(request_id)
        staff = require_agency_staff(actor, request.agency_id)
        found = []
        for consent in uow.consents.for_request(request.id):
            if not consent.share_contact or consent.revoked_at is not None:
                continue
            resident = uow.accounts.get(consent.resident_id)
            found.append(SharedContact(resident.display_name, resident.email,
                                       registration.postal_address(sec, resident)))
            uow.record(ContactDisclosed(actor_id=staff.id, consent_id=consent.id,
                                        resident_id=consent.resident_id))
        uow.commit()
        return found
