"""Legal demands: recorded, fulfilled and withdrawn by platform admins, documented (an
emergency) by the agency's supervisors; the rules are in ``custody.domain.demands``.

Fulfilling a demand records the decision and the owners to tell, in one transaction; the
event calls for the ``evidence.legal_demand`` job (kernel.services.messagebus), which
copies each readable clip of the covered cameras that overlaps the range — trimmed to it,
under a key of its own, as a consent's derivation does — to the agency as an evidence
item whose basis is the demand, or writes the record of the covered accounts' data. It
is idempotent (one item per demanded clip: what exists is skipped) and delivers nothing
for a demand that is not fulfilled (a withdrawn one). When it is done it tells the owners
if their notice is due already.

Telling the owners (``send_notice``) marks the demand told and records one resident event
per owner (``legal_demand.owner_notified``, which calls for their mail) and one public
``legal_demand.notice_sent``, once: the delivery job does it when the notice is due at
once, the documentation of an emergency does it, and the worker's sweep
(``send_due_notices``) does it the day a court's delay ends or an emergency's 48 hours
run out. Each path locks the demand and checks it again, so only one tells.
"""

from __future__ import annotations

import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

from porchlight.accounts.domain.accounts import AccountKind
from porchlight.accounts.services.credentials import digest
from porchlight.custody.domain.demands import Coverage, DemandStatus, LegalDemand
from porchlight.custody.domain.evidence import EvidenceItem, EvidenceReceived
from porchlight.custody.services.commands import (
    DocumentEmergency,
    FulfilLegalDemand,
    RecordLegalDemand,
    WithdrawLegalDemand,
)
from porchlight.custody.services.evidence import _decrypt_to, _key_context
from porchlight.footage.domain.clips import Clip
from porchlight.footage.services.library import Footage, OpenClip, clip_data_key
from porchlight.footage.services.retention import KEY_TIME_FORMAT
from porchlight.kernel.domain.errors import NotFound, ValidationFailed
from porchlight.kernel.domain.policies import (
    Actor,
    actor_id,
    require_platform_admin,
    require_supervisor,
)
from porchlight.kernel.services.ports import Mailer, OutgoingMail, UnitOfWork
from porchlight.requests.domain.requests import ScopePolicy


def record_demand(uow: UnitOfWork, policy: ScopePolicy, actor: Actor,
                  cmd: RecordLegalDemand) -> UUID:
    with uow:
        admin = require_platform_admin(actor)
        terms = cmd.terms
        agency = uow.agencies.get(terms.agency_id)
        if agency is None or not agency.is_verified:
            raise ValidationFailed("pick a verified agency", field="agency_id")
        demand = LegalDemand.record_new(
            demand_id=uuid4(), terms=terms, admin_id=actor_id(admin),
            nonce=secrets.token_hex(16), now=uow.clock.now(),
            max_retention_days=policy.max_retention_days)
        _check_subjects(uow, demand)
        uow.demands.add(demand)
        uow.commit()
        return demand.id


def _check_subjects(uow: UnitOfWork, demand: LegalDemand) -> None:
    """Every named account is a resident's; every named camera exists."""
    for account_id in demand.account_ids:
        account = uow.accounts.get(UUID(account_id))
        if account is None or account.kind is not AccountKind.RESIDENT:
            raise ValidationFailed(f"no resident account {account_id}", field="account_ids")
    for camera_id in demand.camera_ids:
        if uow.cameras.get(UUID(camera_id)) is None:
            raise ValidationFailed(f"no camera {camera_id}", field="camera_ids")


def _demand(uow: UnitOfWork, demand_id: UUID) -> LegalDemand:
    demand = uow.demands.get(demand_id)
    if demand is None:
        raise NotFound("no such legal demand")
    return demand


def owners_of(uow: UnitOfWork, demand: LegalDemand) -> list[UUID]:
    """The residents a demand concerns: the named accounts, or the covered cameras' owners."""
    owners = [UUID(a) for a in demand.account_ids]
    for camera_id in demand.camera_ids:
        camera = uow.cameras.get(UUID(camera_id))
        if camera is not None:
            owners.append(camera.owner_id)
    return owners


def fulfil_demand(uow: UnitOfWork, actor: Actor, cmd: FulfilLegalDemand) -> None:
    """The admin's decision; the delivery is the job's work (never this request's)."""
    with uow:
        admin = require_platform_admin(actor)
        demand = _demand(uow, cmd.demand_id)
        uow.lock(demand)  # two fulfilments at once: one decision, one event
        demand.fulfil(admin_id=actor_id(admin), owner_ids=owners_of(uow, demand),
                      now=uow.clock.now())
        uow.commit()


def withdraw_demand(uow: UnitOfWork, actor: Actor, cmd: WithdrawLegalDemand) -> None:
    with uow:
        admin = require_platform_admin(actor)
        demand = _demand(uow, cmd.demand_id)
        uow.lock(demand)
        demand.withdraw(admin_id=actor_id(admin), now=uow.clock.now())
        uow.commit()


def document_emergency(uow: UnitOfWork, actor: Actor, cmd: DocumentEmergency) -> None:
    """A supervisor (or agency admin) of the issuing agency documents the emergency; the
    owners are told now if the delivery is done (else when it is)."""
    with uow:
        demand = uow.demands.get(cmd.demand_id)
        if demand is None:
            raise NotFound("no such legal demand")
        staff = require_supervisor(actor, demand.agency_id, "document an emergency request")
        uow.lock(demand)
        now = uow.clock.now()
        demand.document(staff_id=staff.id, text=cmd.documentation,
                        nonce=secrets.token_hex(16), now=now)
        demand.send_notice(now=now)
        uow.commit()


# ---- the delivery job ----------------------------------------------------------------------


def deliver(uow: UnitOfWork, kit: Footage, demand_id: UUID, workdir: Path) -> int:
    """The ``evidence.legal_demand`` job: what the demand covers, to its agency, once;
    how many evidence items it made this run."""
    with uow.reading():
        demand = uow.demands.get(demand_id)
        if demand is None or demand.status is not DemandStatus.FULFILLED:
            return 0  # withdrawn (or never fulfilled): nothing is ever delivered
        done = {item.source_clip_id for item in uow.evidence.for_demand(demand.id)}
        todo = [clip for clip in covered_clips(uow, demand) if clip.id not in done]
        sources = [OpenClip(clip, clip_data_key(kit, clip)) for clip in todo]
        records = account_records(uow, demand) if demand.coverage is Coverage.ACCOUNT_DATA \
            else None
    for source in sources:
        _derive(uow, kit, demand, source, workdir)
    with uow:
        demand = _demand(uow, demand_id)
        uow.lock(demand)
        clips = len(uow.evidence.for_demand(demand.id))
        demand.delivered(clips=clips, account_records=records, now=uow.clock.now())
        demand.send_notice(now=uow.clock.now())
        uow.commit()
    return len(sources)


def covered_clips(uow: UnitOfWork, demand: LegalDemand) -> list[Clip]:
    """Readable clips of the covered cameras that overlap the demand's range."""
    if demand.coverage is not Coverage.CAMERAS:
        return []
    found = []
    for camera_id in demand.camera_ids:
        for clip in uow.clips.list_for_camera(UUID(camera_id)):
            if (clip.is_readable and clip.recorded_at < demand.covers_to
                    and clip.ends_at > demand.covers_from):
                found.append(clip)
    return found


def account_records(uow: UnitOfWork, demand: LegalDemand) -> list[dict]:
    """The account data disclosed (``ACCOUNT_DATA_FIELDS``), one record per account."""
    records = []
    for account_id in demand.account_ids:
        account = uow.accounts.get(UUID(account_id))
        if account is None:
            continue
        records.append({
            "account_id": str(account.id), "display_name": account.display_name,
            "email": account.email, "created_at": account.created_at.isoformat(),
            "cameras": [{"id": str(c.id), "name": c.name, "lat": c.lat, "lon": c.lon,
                         "registered_at": c.created_at.isoformat()}
                        for c in uow.cameras.list_by_owner(account.id)]})
    return records


def _derive(uow: UnitOfWork, kit: Footage, demand: LegalDemand, source: OpenClip,
            workdir: Path) -> None:
    clip = source.clip
    start = max(0.0, (demand.covers_from - clip.recorded_at).total_seconds())
    end = min(clip.duration_seconds, (demand.covers_to - clip.recorded_at).total_seconds())
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        plain, trimmed = Path(folder) / "source", Path(folder) / "trimmed"
        _decrypt_to(kit, source, plain)
        cut = kit.video.trim(plain, trimmed, start, end)
        _store(uow, kit, demand, clip, trimmed, cut.start_seconds, cut.end_seconds,
               cut.info.container)


def _store(uow: UnitOfWork, kit: Footage, demand: LegalDemand, clip: Clip, trimmed: Path,
           start: float, end: float, container: str) -> None:
    evidence_id, data_key = uuid4(), secrets.token_bytes(32)
    stamp = uow.clock.now().strftime(KEY_TIME_FORMAT)  # the orphan sweep spares it an hour
    key = f"evidence/{demand.agency_id}/demand-{demand.id}/{stamp}-{evidence_id}.video"
    with kit.store.seal(key, trimmed, data_key) as stored:
        stored.publish()
    try:
        with uow:
            now = uow.clock.now()
            item = EvidenceItem(
                id=evidence_id, consent_id=None, request_id=None, agency_id=demand.agency_id,
                source_clip_id=clip.id, source_sha256=clip.sha256, sha256=stored.sha256,
                size_bytes=stored.size, container=container, start_offset_seconds=start,
                end_offset_seconds=end, covers_from=clip.recorded_at + timedelta(seconds=start),
                covers_to=clip.recorded_at + timedelta(seconds=end), object_key=key,
                wrapped_key=kit.vault.seal(data_key, context=_key_context(evidence_id)),
                received_at=now, expires_at=now + timedelta(days=demand.retention_days),
                legal_demand_id=demand.id)
            item.record(EvidenceReceived(
                actor_id=None, evidence_id=evidence_id, request_id=None,
                agency_id=demand.agency_id, source_sha256=clip.sha256, sha256=item.sha256,
                legal_demand_id=demand.id))
            uow.evidence.add(item)
            uow.commit()
    except BaseException:
        kit.store.delete(key)  # a second run made it meanwhile, or a crash: not needed
        raise


# ---- telling the owners --------------------------------------------------------------------


def send_due_notices(uow: UnitOfWork) -> int:
    """The worker's sweep: tell the owners of every demand whose notice is due (a court's
    delay ended, an emergency's 48 hours ran out); how many demands."""
    with uow.reading():
        now = uow.clock.now()
        due = [d.id for d in uow.demands.awaiting_notice() if d.notice_due(now)]
    told = 0
    for demand_id in due:
        with uow:
            demand = _demand(uow, demand_id)
            uow.lock(demand)  # two sweeps at once: one notice per owner
            if demand.notice_due(uow.clock.now()):
                demand.send_notice(now=uow.clock.now())
                told += 1
            uow.commit()
    return told


def expire_account_records(uow: UnitOfWork) -> int:
    """The account data a demand disclosed is deleted when the demand's retention ends, as
    its evidence items are (by the evidence retention sweep); how many demands."""
    with uow.reading():
        now = uow.clock.now()
        due = [d.id for d in uow.demands.listed() if d.account_records is not None
               and d.retention_ends() is not None and d.retention_ends() <= now]
    for demand_id in due:
        with uow:
            demand = _demand(uow, demand_id)
            uow.lock(demand)
            demand.account_records = None
            uow.commit()
    return len(due)


def clips_of_owner(uow: UnitOfWork, demand: LegalDemand, owner_id: UUID) -> int:
    count = 0
    for item in uow.evidence.for_demand(demand.id):
        clip = uow.clips.get(item.source_clip_id)
        if clip is not None and clip.owner_id == owner_id:
            count += 1
    return count


def notice_text(uow: UnitOfWork, demand: LegalDemand, owner_id: UUID) -> str:
    """What the owner is told, in the mail and in the app."""
    agency = uow.agencies.get(demand.agency_id)
    docket = f", docket {demand.docket}" if demand.docket else ""
    court = f" ({demand.court})" if demand.court else ""
    head = f"A {demand.demand_type.label} from {agency.name}{court}{docket}"
    disclosed = f"{demand.delivered_at:%d %B %Y}" if demand.delivered_at else "—"
    if demand.coverage is Coverage.ACCOUNT_DATA:
        body = (f"{head} covered your account data; it was disclosed on {disclosed}: "
                "your display name, e-mail address, when your account was created, and "
                "your cameras' names, locations and registration dates.")
    else:
        cameras = [uow.cameras.get(UUID(c)) for c in demand.camera_ids]
        names = ", ".join(c.name for c in cameras if c is not None and c.owner_id == owner_id)
        count = clips_of_owner(uow, demand, owner_id)
        body = (f"{head} covered your camera {names} from {demand.covers_from:%d %B %Y %H:%M} "
                f"to {demand.covers_to:%d %B %Y %H:%M} UTC; {count} "
                f"{'clip was' if count == 1 else 'clips were'} disclosed on {disclosed}.")
    if demand.is_emergency:
        body += (" It was an emergency request: the agency documented it on "
                 f"{demand.documented_at:%d %B %Y}." if demand.documented_at else
                 " It was an emergency request, and the agency had not documented it "
                 "within 48 hours.")
    return body


def tell_owner(uow: UnitOfWork, mailer: Mailer, base_url: str, demand_id: UUID,
               owner_id: UUID) -> bool:
    """The ``mail.legal_demand_notice`` job: one owner's mail; whether it went."""
    with uow.reading():
        demand = uow.demands.get(demand_id)
        owner = uow.accounts.get(owner_id)
        if demand is None or demand.notice_sent_at is None or owner is None \
                or owner.is_disabled:
            return False
        agency = uow.agencies.get(demand.agency_id)
        text = notice_text(uow, demand, owner_id)
    mailer.send(OutgoingMail(
        to=owner.email,
        subject=f"A {demand.demand_type.label} from {agency.name} covered your footage",
        key=f"legal-demand-notice.{digest(f'{demand_id}:{owner_id}')[:32]}",
        body=f"{text}\n\nPorchlight delivers footage without your consent only under a "
             "legal demand, and always tells you. You can see it in your inbox: "
             f"{base_url.rstrip('/')}/inbox"))
    return True

