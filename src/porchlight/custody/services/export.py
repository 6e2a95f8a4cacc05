"""Export an evidence item: the ZIP of its video, a manifest and the manifest's signature.

Three steps, none of them slow work inside a write:

1. read (a snapshot, no write lock): may this caller export it; the item, its request
   and consent; its custody chain from the audit log with proofs into the latest signed
   checkpoint (``audit.services.subjects``);
2. build the manifest (this export is its last custody event, pending: it is recorded in
   step 3), sign it, and write the ZIP into a private, locked temp file, decrypting the
   video chunk by chunk and hashing it on the way (a copy whose bytes no longer match
   its SHA-256 is refused, and nothing is recorded);
3. one short transaction checks again and records ``evidence.exported`` with the
   manifest's SHA-256 — only then does the caller send the file.

Every refusal is recorded too: ``evidence.export_refused`` (public) for staff and platform
admins, ``evidence.access_denied`` (a commitment) for a resident.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from porchlight.accounts.domain.accounts import Account, AccountKind
from porchlight.audit.domain import NoteSigner
from porchlight.audit.services.ports import AuditLogStore
from porchlight.audit.services.subjects import ProvenEvent, SubjectHistory, subject_history
from porchlight.custody.domain.demands import LegalDemand
from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.domain.export import (
    CUSTODY_KINDS,
    EXPORTED,
    FORMAT,
    MANIFEST,
    SIGNATURE,
    VIDEO,
    EvidenceAccessDenied,
    EvidenceExportRefused,
    encode_manifest,
    export_filename,
    mark_exported,
    statement,
)
from porchlight.footage.services import temp_uploads
from porchlight.footage.services.library import Footage
from porchlight.kernel.domain.errors import NotFound, PermissionDenied
from porchlight.kernel.domain.policies import Actor, actor_id
from porchlight.kernel.services.ports import UnitOfWork
from porchlight.requests.domain.consent import Consent
from porchlight.requests.domain.requests import VideoRequest

TEMP_PREFIX = "export-"


class EvidenceDamaged(RuntimeError):
    """The stored copy no longer decrypts to the bytes its SHA-256 names."""


@dataclass(frozen=True)
class ExportKit:
    footage: Footage
    log: AuditLogStore
    signer: Callable[[], NoteSigner]  # the audit log's key, read only when exporting
    origin: str
    tempdir: Path  # a private folder whose unowned files the sweeps remove


@dataclass
class EvidenceExport:
    """The finished ZIP in a locked temp file: send it, then ``discard`` it."""

    path: Path
    filename: str
    export_id: UUID
    manifest_sha256: str
    size: int
    _temp: temp_uploads.TempUpload

    def discard(self) -> None:
        self._temp.discard()


@dataclass(frozen=True)
class _Source:
    item: EvidenceItem
    request: VideoRequest | None  # None under a legal demand
    consent: Consent | None  # the basis: a consent, or
    demand: LegalDemand | None  # a legal demand
    agency_name: str
    roles: dict[UUID, str]
    history: SubjectHistory


def export_evidence(uow: UnitOfWork, kit: ExportKit, actor: Actor,
                    evidence_id: UUID) -> EvidenceExport:
    source = _read(uow, kit, actor, evidence_id)
    export_id, now = uuid4(), uow.clock.now()
    signer = kit.signer()
    document = manifest(source, actor, export_id, now.isoformat(), kit.origin,
                        signer.verifier_key)
    body = encode_manifest(document)
    digest = hashlib.sha256(body).hexdigest()
    data_key = kit.footage.vault.open(source.item.wrapped_key,
                                      context=f"evidence:{evidence_id}".encode())
    temp = temp_uploads.create(kit.tempdir, prefix=TEMP_PREFIX)
    try:
        _write_zip(temp.path, kit.footage, source.item, data_key, body,
                   signer.sign_note(statement(digest)).encode("utf-8"), now.timetuple()[:6])
        _record(uow, actor, evidence_id, export_id, digest)
    except BaseException:
        temp.discard()
        raise
    case = (source.request.case_number if source.request is not None
            else f"demand-{source.item.legal_demand_id}"[:15])
    return EvidenceExport(temp.path, export_filename(source.item, case),
                          export_id, digest, temp.path.stat().st_size, temp)


def _read(uow: UnitOfWork, kit: ExportKit, actor: Actor, evidence_id: UUID) -> _Source:
    with uow.reading():
        item = uow.evidence.get(evidence_id)
        consent, demand = _basis_of(uow, item)
        refusal = refusal_reason(actor, item, consent, demand)
        if refusal is None:
            assert item is not None
            request = uow.requests.get(item.request_id) if item.request_id else None
            agency = uow.agencies.get(item.agency_id)
            history = subject_history(kit.log, "evidence_id", str(evidence_id),
                                      CUSTODY_KINDS)
            actors = {e.found.event.actor_id for e in history.events} | {actor_id(actor)}
            source = _Source(item, request, consent, demand, agency.name if agency else "",
                             _roles(uow, actors), history)
    if refusal is not None:
        _refuse(uow, actor, item.id if item is not None else None, refusal)
    return source


def _basis_of(uow: UnitOfWork, item: EvidenceItem | None
              ) -> tuple[Consent | None, LegalDemand | None]:
    """The consent, or the legal demand, the agency holds the item under."""
    if item is None:
        return None, None
    if item.consent_id is not None:
        return uow.consents.get(item.consent_id), None
    if item.legal_demand_id is not None:
        return None, uow.demands.get(item.legal_demand_id)
    return None, None


def _roles(uow: UnitOfWork, ids: set[UUID | None]) -> dict[UUID, str]:
    roles = {}
    for account_id in ids:
        account = uow.accounts.get(account_id) if account_id is not None else None
        if account is not None:
            roles[account_id] = role_of(account)
    return roles


def role_of(account: Account) -> str:
    """The role the audit leaf gives an actor (``audit.services.log``)."""
    if account.kind is AccountKind.STAFF:
        return account.staff_role.value if account.staff_role else "staff"
    return account.kind.value


def refusal_reason(actor: Actor, item: EvidenceItem | None, consent: Consent | None,
                   demand: LegalDemand | None = None) -> str | None:
    """Why ``actor`` may not export ``item`` (a reason code), or None."""
    if not isinstance(actor, Account):
        return "not_staff"  # the operator at the command line exports nothing
    if actor.is_disabled:
        return "account_disabled"
    if actor.kind is not AccountKind.STAFF:
        return "not_staff"
    if item is None:
        return "no_such_evidence"
    if actor.agency_id != item.agency_id:
        return "other_agency"
    if not item.is_readable:
        return "purged"
    if item.consent_id is None:  # held under a legal demand
        return None if demand is not None else "legal_basis"
    if consent is None or consent.revoked_at is not None:
        return "consent_revoked"
    return None


def _refuse(uow: UnitOfWork, actor: Actor, evidence_id: UUID | None, reason: str) -> None:
    """Record the refusal in a transaction of its own, then raise what the policies do:
    not staff 403; anything about a specific item 404 (its existence is not told)."""
    who = actor_id(actor)
    with uow:
        if isinstance(actor, Account) and actor.kind is AccountKind.RESIDENT:
            uow.record(EvidenceAccessDenied(actor_id=who, evidence_id=evidence_id,
                                            reason=reason))
        else:
            uow.record(EvidenceExportRefused(actor_id=who, evidence_id=evidence_id,
                                             reason=reason))
        uow.commit()
    if reason in ("not_staff", "account_disabled"):
        raise PermissionDenied("only the agency's staff may export its evidence")
    raise NotFound("no such evidence")


def _record(uow: UnitOfWork, actor: Actor, evidence_id: UUID, export_id: UUID,
            digest: str) -> None:
    with uow:
        item = uow.evidence.get(evidence_id)
        consent, demand = _basis_of(uow, item)
        refusal = refusal_reason(actor, item, consent, demand)  # purged or revoked meanwhile
        if refusal is None:
            assert item is not None
            mark_exported(item, actor_id=actor_id(actor), export_id=export_id,
                          manifest_sha256=digest, now=uow.clock.now())
            uow.commit()
    if refusal is not None:
        _refuse(uow, actor, evidence_id if item is not None else None, refusal)


def manifest(source: _Source, actor: Actor, export_id: UUID, exported_at: str, origin: str,
             verifier_key: str) -> dict[str, Any]:
    item, request, history = source.item, source.request, source.history
    checkpoint = history.checkpoint
    chain = [_custody_entry(event, source.roles) for event in history.events]
    chain.append({"kind": EXPORTED, "at": exported_at, "export_id": str(export_id),
                  "role": source.roles.get(actor_id(actor), "unknown"),  # type: ignore[arg-type]
                  "leaf_index": None, "leaf": None, "proof": None})
    return {
        "format": FORMAT,
        "export_id": str(export_id),
        "exported_at": exported_at,
        "origin": origin,
        "verifier_key": verifier_key,
        "agency": {"id": str(item.agency_id), "name": source.agency_name},
        "evidence": {
            "id": str(item.id), "file": VIDEO, "sha256": item.sha256,
            "size_bytes": item.size_bytes, "container": item.container,
            "parent_sha256": item.source_sha256, "source_clip_id": str(item.source_clip_id),
            "agency_id": str(item.agency_id),
            "request_id": str(item.request_id) if item.request_id else None,
            "case_number": request.case_number if request is not None else None,
            "covers_from": item.covers_from.isoformat(),
            "covers_to": item.covers_to.isoformat(), "received_at": item.received_at.isoformat(),
            "delete_by": item.expires_at.isoformat(),
        },
        "basis": _manifest_basis(source),
        "checkpoint": None if checkpoint is None else {"size": checkpoint.size,
                                                       "note": checkpoint.note},
        "log_size": history.tree_size,
        "custody": chain,
    }


def _manifest_basis(source: _Source) -> dict[str, Any]:
    consent, demand = source.consent, source.demand
    if consent is not None:
        return {"kind": "consent", "consent_id": str(consent.id), "scope": consent.scope,
                "disclosure_sha256": consent.disclosure_sha256,
                "clip_ids": sorted(consent.clip_ids),
                "granted_at": consent.created_at.isoformat()}
    assert demand is not None
    # the court and docket stay with the agency's own records, as in the public log
    return {"kind": "legal_demand", "legal_demand_id": str(demand.id),
            "demand_type": demand.demand_type.value,
            "issuing_agency_id": str(demand.agency_id),
            "fulfilled_at": demand.fulfilled_at.isoformat() if demand.fulfilled_at else None}


def _custody_entry(proven: ProvenEvent, roles: dict[UUID, str]) -> dict[str, Any]:
    found = proven.found
    event = found.event
    entry: dict[str, Any] = {
        "kind": event.kind, "at": event.occurred_at.isoformat(),
        "role": _leaf_role(found.leaf) or (roles.get(event.actor_id, "unknown")
                                           if event.actor_id else "system"),
        "leaf_index": found.index,
        "leaf": None if found.leaf is None else base64.b64encode(found.leaf).decode("ascii"),
        "proof": None if proven.proof is None else
        [base64.b64encode(node).decode("ascii") for node in proven.proof],
    }
    if event.kind == EXPORTED:
        entry["export_id"] = event.payload.get("export_id")
    if proven.openings:  # the digests the public leaf commits to, and how to open them
        entry["openings"] = {name: secret.hex() for name, secret in proven.openings.items()}
    return entry


def _leaf_role(leaf: bytes | None) -> str | None:
    if leaf is None:
        return None
    try:
        content = json.loads(leaf)
    except ValueError:
        return None
    actor = content.get("actor") if isinstance(content, dict) else None
    return str(actor.get("role")) if isinstance(actor, dict) else "system"


def _write_zip(path: Path, footage: Footage, item: EvidenceItem, data_key: bytes,
               manifest_body: bytes, signature: bytes, stamp: tuple[int, ...]) -> None:
    """The ZIP, written straight to ``path``: the video streamed through in blocks."""
    with path.open("r+b") as raw, zipfile.ZipFile(raw, "w", allowZip64=True) as archive:
        for name, data in ((MANIFEST, manifest_body), (SIGNATURE, signature)):
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data,  # type: ignore[arg-type]
                             compress_type=zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo(VIDEO, date_time=stamp)  # type: ignore[arg-type]
        info.compress_type = zipfile.ZIP_STORED  # video is compressed already
        digest, size = hashlib.sha256(), 0
        with archive.open(info, "w", force_zip64=True) as out:
            for block in footage.store.read(item.object_key, data_key, 0, item.size_bytes):
                digest.update(block)
                size += len(block)
                out.write(block)
    if digest.hexdigest() != item.sha256 or size != item.size_bytes:
        raise EvidenceDamaged(f"evidence {item.id} no longer matches its SHA-256")
