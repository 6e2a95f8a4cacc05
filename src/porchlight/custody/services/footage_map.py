"""Where is my footage (issue 16 item 5): for a resident, every evidence item made from
their clips — the copies the requesting agencies received and every copy re-shared from
them, transitively — grouped by clip: who holds it and on what basis, where it came from,
how often it was played and exported, the legal holds on it, when it is (or was) deleted,
the answer to a deletion request, and each custody event with its audit leaf and an
inclusion proof into the latest signed checkpoint (checked offline by
``porchlight audit check-footage``).

A bounded number of queries whatever the number of items: the items (one join on the
resident's consents), then their consents, requests, agencies, clips, cameras, shares and
holds in one query each, and the audit events of every item in one snapshot of the log
(``audit.services.subjects.subjects_history``). Plays and exports are counted from those
custody events: ``evidence.viewed`` is written for every read of the video (a player may
read one play in several ranges), ``evidence.exported`` for every export (a download).
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from porchlight.audit.services.ports import AuditLogStore, StoredCheckpoint
from porchlight.audit.services.subjects import ProvenEvent, subjects_history
from porchlight.custody.domain.deletion import answer_due
from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.domain.export import EXPORTED, RECEIVED, VIEWED
from porchlight.custody.domain.holds import LegalHold
from porchlight.custody.domain.reshare import EvidenceShare
from porchlight.custody.services.holds import HoldNotice
from porchlight.kernel.domain.policies import Actor, require_resident
from porchlight.kernel.services.ports import UnitOfWork
from porchlight.requests.domain.consent import Consent, SharingScope

FORMAT = "porchlight-footage/1"
PURGED, RESHARED, ANSWERED = "evidence.purged", "evidence.reshared", "evidence.deletion_answered"
RESIDENT_CUSTODY_KINDS = (RECEIVED, VIEWED, EXPORTED, RESHARED, ANSWERED, PURGED)
"""The public custody events a resident sees for each item (their payload names it)."""


@dataclass(frozen=True)
class Basis:
    """Why the agency holds it: the resident's consent today; a legal demand later."""

    kind: str  # "consent" (or "legal_demand")
    reference: UUID | None  # the consent's id (or the demand's)
    scope: str | None
    scope_label: str | None
    granted_at: datetime | None


@dataclass(frozen=True)
class Usage:
    count: int = 0
    last_at: datetime | None = None


@dataclass(frozen=True)
class Received:
    """A re-shared copy: from which agency, when, and the reason it gave the owner."""

    from_agency: str
    parent_id: UUID
    shared_at: datetime
    reason: str


@dataclass(frozen=True)
class SharedOn:
    to_agency: str
    shared_at: datetime
    reason: str
    copy_id: UUID
    state: str  # "kept", "deleted", "pending" (being made) or "not_made"


@dataclass(frozen=True)
class DeletionStatus:
    requested_at: datetime
    due: datetime
    overdue: bool  # unanswered past its due date (or answered after it)
    answer: str | None  # "deleted" or "kept"; None: not answered (yet)
    answered_at: datetime | None
    answered_role: str | None
    hold: HoldNotice | None  # the legal hold a "kept" answer named


@dataclass(frozen=True)
class HeldCopy:
    item: EvidenceItem
    agency: str
    agency_kind: str
    basis: Basis
    case_number: str
    depth: int  # 0: the requesting agency's own copy; 1: re-shared from it; ...
    received: Received | None
    shared_on: list[SharedOn]
    plays: Usage
    exports: Usage
    holds: list[HoldNotice]
    deletion: DeletionStatus | None
    purge_reason: str | None  # "retention", "consent_revoked", "deletion_requested"
    custody: list[ProvenEvent]

    @property
    def deleted(self) -> bool:
        return self.item.purged_at is not None


@dataclass(frozen=True)
class ClipFootage:
    clip_id: UUID
    recorded_at: datetime | None
    camera: str | None
    copies: list[HeldCopy]  # each copy followed by the copies re-shared from it


@dataclass(frozen=True)
class FootageMap:
    clips: list[ClipFootage]
    checkpoint: StoredCheckpoint | None
    tree_size: int
    now: datetime
    answer_days: int

    @property
    def copies(self) -> list[HeldCopy]:
        return [copy for clip in self.clips for copy in clip.copies]


@dataclass
class _Facts:
    items: dict[UUID, EvidenceItem]
    consents: dict[UUID, Consent]
    requests: dict[UUID, Any]
    agencies: dict[UUID, Any]
    shares: dict[UUID, EvidenceShare]  # by id, which is also its copy's id
    holds: dict[UUID, list[LegalHold]] = field(default_factory=dict)  # by request
    events: dict[str, list[ProvenEvent]] = field(default_factory=dict)  # by evidence id
    demand_types: dict[UUID, str] = field(default_factory=dict)  # by demand id


def footage_map(uow: UnitOfWork, log: AuditLogStore, actor: Actor, *, answer_days: int
                ) -> FootageMap:
    with uow.reading():
        resident = require_resident(actor)
        items = list(uow.evidence.for_resident(resident.id))
        # A legal demand's copies stay out of sight until its owners are told (a court
        # may have delayed that, or an emergency awaits its documentation).
        demands = {d: uow.demands.get(d) for d in {i.legal_demand_id for i in items
                                                   if i.legal_demand_id is not None}}
        items = [i for i in items if i.legal_demand_id is None or (
            (demand := demands.get(i.legal_demand_id)) is not None
            and demand.notice_sent_at is not None)]
        facts = _facts(uow, items)
        facts.demand_types = {d.id: d.demand_type.value for d in demands.values()
                              if d is not None}
        clips = uow.clips.get_many([i.source_clip_id for i in items])
        cameras = {c.id: c.name for c in uow.cameras.list_by_owner(resident.id)}
        now = uow.clock.now()
    history = subjects_history(log, "evidence_id", [str(i) for i in facts.items],
                               RESIDENT_CUSTODY_KINDS)
    for event in history.events:
        facts.events.setdefault(str(event.found.event.payload.get("evidence_id")),
                                []).append(event)
    by_clip: dict[UUID, list[EvidenceItem]] = defaultdict(list)
    for item in items:
        by_clip[item.source_clip_id].append(item)
    found = []
    for clip_id, clip_items in by_clip.items():
        clip = clips.get(clip_id)
        found.append(ClipFootage(
            clip_id, clip.recorded_at if clip else None,
            cameras.get(clip.camera_id) if clip else None,
            [_copy(facts, item, depth, now, answer_days)
             for item, depth in _tree(clip_items)]))
    found.sort(key=lambda c: (c.recorded_at is None, c.recorded_at), reverse=True)
    return FootageMap(found, history.checkpoint, history.tree_size, now, answer_days)


def _facts(uow: UnitOfWork, items: Sequence[EvidenceItem]) -> _Facts:
    consent_ids = [i.consent_id for i in items if i.consent_id is not None]
    request_ids = [i.request_id for i in items if i.request_id is not None]
    facts = _Facts(items={i.id: i for i in items}, consents=uow.consents.get_many(consent_ids),
                   requests=uow.requests.get_many(request_ids),
                   agencies={a.id: a for a in uow.agencies.list()},
                   shares={s.id: s for s in uow.shares.for_consents(consent_ids)}
                   if items else {})
    for hold in uow.holds.for_requests(request_ids) if items else []:
        facts.holds.setdefault(hold.request_id, []).append(hold)
    return facts


def _tree(items: list[EvidenceItem]) -> list[tuple[EvidenceItem, int]]:
    """Each item followed by the copies made from it, depth first, oldest first."""
    children: dict[UUID | None, list[EvidenceItem]] = defaultdict(list)
    ids = {i.id for i in items}
    for item in items:
        children[item.parent_id if item.parent_id in ids else None].append(item)
    ordered: list[tuple[EvidenceItem, int]] = []

    def walk(parent: UUID | None, depth: int) -> None:
        for item in sorted(children.get(parent, []), key=lambda i: (i.received_at, str(i.id))):
            ordered.append((item, depth))
            walk(item.id, depth + 1)

    walk(None, 0)
    return ordered


def _name(facts: _Facts, agency_id: UUID) -> str:
    agency = facts.agencies.get(agency_id)
    return agency.name if agency is not None else "an agency"


def _copy(facts: _Facts, item: EvidenceItem, depth: int, now: datetime,
          answer_days: int) -> HeldCopy:
    consent, request = facts.consents.get(item.consent_id), facts.requests.get(item.request_id)
    agency = facts.agencies.get(item.agency_id)
    events = facts.events.get(str(item.id), [])
    holds = _holds(facts, item, now)
    return HeldCopy(
        item=item, agency=_name(facts, item.agency_id),
        agency_kind=agency.kind.label if agency is not None else "",
        basis=_basis(item, consent, facts.demand_types),
        case_number=request.case_number if request else "",
        depth=depth, received=_received(facts, item), shared_on=_shared_on(facts, item, now),
        plays=_usage(events, VIEWED), exports=_usage(events, EXPORTED), holds=holds,
        deletion=_deletion(facts, item, consent, now, answer_days),
        purge_reason=next((str(e.found.event.payload.get("reason")) for e in events
                           if e.found.event.kind == PURGED), None),
        custody=events)


def _basis(item: EvidenceItem, consent: Consent | None, demand_types: dict[UUID, str]
           ) -> Basis:
    kind = item.basis  # "consent", or "legal_demand"
    if kind != "consent" or consent is None:
        demand_type = demand_types.get(item.legal_demand_id) if item.legal_demand_id else None
        label = demand_type.replace("_", " ") if demand_type else None
        return Basis(kind, item.legal_demand_id, demand_type, label, None)
    return Basis("consent", consent.id, consent.scope, SharingScope(consent.scope).label,
                 consent.created_at)


def _usage(events: list[ProvenEvent], kind: str) -> Usage:
    times = [e.found.event.occurred_at for e in events if e.found.event.kind == kind]
    return Usage(len(times), max(times) if times else None)


def _received(facts: _Facts, item: EvidenceItem) -> Received | None:
    share = facts.shares.get(item.id) if item.is_copy else None
    if share is None:
        return None
    return Received(_name(facts, share.from_agency_id), share.evidence_id, share.shared_at,
                    share.reason)


def _shared_on(facts: _Facts, item: EvidenceItem, now: datetime) -> list[SharedOn]:
    found = []
    for share in facts.shares.values():
        if share.evidence_id != item.id:
            continue
        copy, consent = facts.items.get(share.id), facts.consents.get(share.consent_id)
        if copy is not None:
            state = "deleted" if copy.purged_at is not None else "kept"
        elif (item.is_readable and consent is not None and consent.revoked_at is None
              and share.expires_at > now):
            state = "pending"
        else:
            state = "not_made"
        found.append(SharedOn(_name(facts, share.to_agency_id), share.shared_at, share.reason,
                              share.id, state))
    return found


def _notice(facts: _Facts, hold: LegalHold, now: datetime) -> HoldNotice:
    return HoldNotice(_name(facts, hold.agency_id), hold.set_by_role.replace("_", " "),
                      hold.set_at, hold.until, hold.is_active(now), hold.released_at,
                      hold.end_cause)


def _holds(facts: _Facts, item: EvidenceItem, now: datetime) -> list[HoldNotice]:
    """The holds of the item's case that had a part in keeping it (never a copy's: a hold
    on a case does not cover the copies its agency gave away), newest first."""
    if item.is_copy:
        return []
    return [_notice(facts, hold, now)
            for hold in reversed(facts.holds.get(item.request_id, []))
            if hold.stops_at > item.received_at and hold.agency_id == item.agency_id]


def _deletion(facts: _Facts, item: EvidenceItem, consent: Consent | None, now: datetime,
              days: int) -> DeletionStatus | None:
    requested = consent.deletion_requested_at if consent is not None else None
    if requested is None or (item.purged_at is not None and item.purged_at <= requested
                             and item.deletion_answer is None):
        return None  # never asked, or gone before it was
    due = answer_due(requested, days)
    answered = item.deletion_answered_at
    hold = next((h for h in facts.holds.get(item.request_id, [])
                 if h.id == item.deletion_hold_id), None)
    settled = answered or item.purged_at
    return DeletionStatus(requested, due, (settled or now) > due, item.deletion_answer,
                          answered, item.deletion_answered_role,
                          _notice(facts, hold, now) if hold is not None else None)


# ---- the JSON export --------------------------------------------------------------------


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def document(found: FootageMap, origin: str, verifier_key: str) -> dict[str, Any]:
    """The map as JSON: every custody event with its leaf and, once in the carried signed
    checkpoint, its inclusion proof (``porchlight audit check-footage FILE --key KEY``)."""
    checkpoint = found.checkpoint
    return {
        "format": FORMAT, "origin": origin, "verifier_key": verifier_key,
        "generated_at": found.now.isoformat(), "answer_days": found.answer_days,
        "checkpoint": None if checkpoint is None else {"size": checkpoint.size,
                                                       "note": checkpoint.note},
        "log_size": found.tree_size,
        "clips": [{"clip_id": str(clip.clip_id), "recorded_at": _iso(clip.recorded_at),
                   "camera": clip.camera, "copies": [_copy_json(c) for c in clip.copies]}
                  for clip in found.clips],
    }


def _copy_json(copy: HeldCopy) -> dict[str, Any]:
    item, basis, deletion = copy.item, copy.basis, copy.deletion
    return {
        "evidence_id": str(item.id), "parent_id": str(item.parent_id) if item.parent_id else None,
        "agency": {"id": str(item.agency_id), "name": copy.agency, "kind": copy.agency_kind},
        "basis": {"kind": basis.kind, "id": str(basis.reference) if basis.reference else None,
                  "scope": basis.scope, "granted_at": _iso(basis.granted_at)},
        "case_number": copy.case_number, "request_id": str(item.request_id),
        "received_at": item.received_at.isoformat(),
        "covers_from": item.covers_from.isoformat(), "covers_to": item.covers_to.isoformat(),
        "received_from": None if copy.received is None else {
            "agency": copy.received.from_agency, "parent_id": str(copy.received.parent_id),
            "shared_at": copy.received.shared_at.isoformat(), "reason": copy.received.reason},
        "shared_on": [{"to_agency": s.to_agency, "shared_at": s.shared_at.isoformat(),
                       "reason": s.reason, "copy_id": str(s.copy_id), "copy_state": s.state}
                      for s in copy.shared_on],
        "plays": {"count": copy.plays.count, "last_at": _iso(copy.plays.last_at)},
        "exports": {"count": copy.exports.count, "last_at": _iso(copy.exports.last_at)},
        "legal_holds": [{"agency": h.agency, "set_by_role": h.set_by_role,
                         "set_at": h.set_at.isoformat(), "until": h.until.isoformat(),
                         "active": h.active, "ended_at": _iso(h.released_at),
                         "end_cause": h.end_cause} for h in copy.holds],
        "delete_by": None if copy.deleted else item.expires_at.isoformat(),
        "deleted_at": _iso(item.purged_at), "deleted_reason": copy.purge_reason,
        "deletion_request": None if deletion is None else {
            "requested_at": deletion.requested_at.isoformat(), "due": deletion.due.isoformat(),
            "overdue": deletion.overdue, "answer": deletion.answer,
            "answered_at": _iso(deletion.answered_at),
            "hold_until": _iso(deletion.hold.until) if deletion.hold else None},
        "custody": [_event_json(e) for e in copy.custody],
    }


def _event_json(proven: ProvenEvent) -> dict[str, Any]:
    found = proven.found
    return {"kind": found.event.kind, "at": found.event.occurred_at.isoformat(),
            "leaf_index": found.index,
            "leaf": None if found.leaf is None else _b64(found.leaf),
            "proof": None if proven.proof is None else [_b64(n) for n in proven.proof]}
