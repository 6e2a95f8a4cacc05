"""Re-sharing: an agency passes an evidence item on to another agency, inside the owner's
consent (invariant 3), and the owner is told.

Who may receive a copy is the consent's sharing scope crossed with the destination's kind
and whether the request's sharing plan named it (``reshare_refusal``):

==================  ============================  ==================================
scope               named in the sharing plan     not named
==================  ============================  ==================================
this_agency         nobody                        nobody
named_agencies      any kind, federal included    nobody
local_or_state      any kind, federal included    municipal police, county sheriff,
                                                  state, fire / EMS; never federal or
                                                  "other"
==================  ============================  ==================================

Fire / EMS counts as local: fire and ambulance services are municipal or county bodies,
and the scope's label ("any local or state agency") covers them, as the consent page's
``LOCAL_OR_STATE_KINDS`` always has. "Other" does not: its kind says nothing about what
the agency is (a private body, a university, a federal task force), so only naming it in
the plan, which the resident read, lets it in. Whatever the scope, the destination must
be verified and not the agency holding the item, and the item must still be readable.

The copy is bound by the same consent: it is an evidence item of the same request and
consent, so a re-share of it is checked against the same scope, and taking the consent
back (before any holder first opened any copy) destroys it with the rest. Its deletion
date is fixed when it is shared (``copy_deletion_date``): the date the destination asks
for, but never later than its parent's *promised* date — for an item derived for the
request, its receipt plus the retention the requesting agency promised, without any legal
hold; for a copy, its own date. A hold only ever pushes an item's date later than the
promise, so the copy can never outlive its parent, and a hold on the requesting agency's
case does not cover the copies it gave away (a hold is that agency's decision about its
own case). The destination cannot hold the copy either: holds belong to the request's
case, which only its agency's supervisors can hold.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.custody.domain.evidence import EvidenceItem, EvidenceReceived
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import PolicyRefused, ValidationFailed
from porchlight.kernel.domain.events import DomainEvent
from porchlight.requests.domain.consent import LOCAL_OR_STATE_KINDS, SharingScope
from porchlight.requests.domain.requests import reason_commitment

RESHARE_REASON_MIN, RESHARE_REASON_MAX = 10, 2000


class Refusal(enum.StrEnum):
    """Why a re-share was refused: the code of its audit event and of the API's error."""

    EVIDENCE_PURGED = "evidence_purged"
    CONSENT_REVOKED = "consent_revoked"
    DELETION_REQUESTED = "deletion_requested"
    UNKNOWN_AGENCY = "unknown_agency"
    SAME_AGENCY = "same_agency"
    NOT_VERIFIED = "agency_not_verified"
    OUTSIDE_SCOPE = "outside_consent_scope"
    FEDERAL_NOT_NAMED = "federal_not_named"
    ALREADY_HELD = "already_held"
    RETENTION_ENDED = "retention_ended"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Refusal.EVIDENCE_PURGED: "this evidence has been deleted",
    Refusal.CONSENT_REVOKED: "the owner took their consent back",
    Refusal.DELETION_REQUESTED: "the owner asked for this footage to be deleted: it cannot "
                                "be shared on",
    Refusal.UNKNOWN_AGENCY: "there is no such agency",
    Refusal.SAME_AGENCY: "your agency holds this evidence already",
    Refusal.NOT_VERIFIED: "that agency has not been verified",
    Refusal.OUTSIDE_SCOPE: "the owner's consent does not let this footage go to that agency",
    Refusal.FEDERAL_NOT_NAMED: "a federal agency may receive footage only when the request "
                               "named it and the owner's consent allows named agencies",
    Refusal.ALREADY_HELD: "that agency holds, or is being sent, a copy of this footage already",
    Refusal.RETENTION_ENDED: "the retention promised for this footage is over (only a legal "
                             "hold keeps it): it cannot be shared on",
}


def reshare_refusal(scope: SharingScope, kind: AgencyKind, *, named: bool,
                    verified: bool = True, same_agency: bool = False,
                    purged: bool = False) -> Refusal | None:
    """Whether the owner's consent lets an item go to an agency of ``kind``; why not.
    ``named``: the request's sharing plan, which the owner read, names the destination."""
    if purged:
        return Refusal.EVIDENCE_PURGED
    if same_agency:
        return Refusal.SAME_AGENCY
    if not verified:
        return Refusal.NOT_VERIFIED
    if scope is SharingScope.THIS_AGENCY:
        return Refusal.OUTSIDE_SCOPE
    if kind is AgencyKind.FEDERAL:
        return None if named else Refusal.FEDERAL_NOT_NAMED
    if named:
        return None
    if scope is SharingScope.LOCAL_OR_STATE and kind in LOCAL_OR_STATE_KINDS:
        return None
    return Refusal.OUTSIDE_SCOPE


def may_reshare(scope: SharingScope, kind: AgencyKind, *, named: bool, verified: bool = True,
                same_agency: bool = False, purged: bool = False) -> bool:
    """Invariant 3: a re-share stays inside the owner's consent scope."""
    return reshare_refusal(scope, kind, named=named, verified=verified,
                           same_agency=same_agency, purged=purged) is None


def promised_date(item: EvidenceItem, retention_days: int) -> datetime:
    """The latest a copy of ``item`` may be kept: an item derived for the request, its
    receipt plus the promised retention (no hold counts); a copy, its own date."""
    if item.is_copy:
        return item.expires_at
    return item.received_at + timedelta(days=retention_days)


def copy_deletion_date(ceiling: datetime, asked: datetime | None) -> datetime:
    """The copy's deletion date: what the destination asked for, never past ``ceiling``."""
    return ceiling if asked is None else min(ceiling, asked)


def refuse(refusal: Refusal) -> PolicyRefused:
    field = "reason" if refusal is Refusal.DELETION_REQUESTED else "to_agency_id"
    return PolicyRefused(refusal.value, refusal.message, field=field)


def clean_reason(text: str | None) -> str:
    """The reason, its whitespace folded; refused outside its bounds."""
    text = " ".join((text or "").split())
    if not RESHARE_REASON_MIN <= len(text) <= RESHARE_REASON_MAX:
        raise ValidationFailed(f"the reason for sharing must be {RESHARE_REASON_MIN} to "
                               f"{RESHARE_REASON_MAX} characters", field="reason")
    return text


@dataclass(frozen=True, kw_only=True)
class EvidenceReshared(DomainEvent):
    """Custody: an agency passed a copy on. Public: which agencies, which items, and a
    commitment to the reason (its length, and SHA-256 of a nonce kept in the share's row
    and the text, as ``RequestRejected``); the owner reads the reason in the app."""

    kind: ClassVar[str] = "evidence.reshared"
    share_id: UUID  # also the id of the destination's copy, once made
    evidence_id: UUID  # the item shared
    from_agency_id: UUID
    to_agency_id: UUID
    expires_at: datetime
    reason_chars: int
    reason_commitment: str


@dataclass(frozen=True, kw_only=True)
class EvidenceReshareRefused(DomainEvent):
    kind: ClassVar[str] = "evidence.reshare_refused"
    evidence_id: UUID
    from_agency_id: UUID
    to_agency_id: UUID | None  # None: no such agency
    reason: str  # a Refusal


@dataclass(eq=False)
class EvidenceShare(Entity):
    """One re-share: its terms never change (migration 0016's triggers). The copy it makes
    is the evidence item with the share's id."""

    id: UUID
    evidence_id: UUID
    consent_id: UUID
    request_id: UUID
    source_clip_id: UUID
    from_agency_id: UUID
    to_agency_id: UUID
    shared_by: UUID
    shared_by_role: str
    shared_at: datetime
    reason: str
    reason_nonce: str  # hex; keys the reason's commitment in the audit log
    expires_at: datetime  # the copy's deletion date

    @classmethod
    def make(cls, *, share_id: UUID, item: EvidenceItem, to_agency_id: UUID, staff_id: UUID,
             role: str, reason: str, nonce: str, expires_at: datetime, now: datetime
             ) -> EvidenceShare:
        reason = clean_reason(reason)
        share = cls(id=share_id, evidence_id=item.id, consent_id=item.consent_id,
                    request_id=item.request_id, source_clip_id=item.source_clip_id,
                    from_agency_id=item.agency_id, to_agency_id=to_agency_id,
                    shared_by=staff_id, shared_by_role=role, shared_at=now, reason=reason,
                    reason_nonce=nonce, expires_at=expires_at)
        share.record(EvidenceReshared(
            actor_id=staff_id, share_id=share_id, evidence_id=item.id,
            from_agency_id=item.agency_id, to_agency_id=to_agency_id, expires_at=expires_at,
            reason_chars=len(reason), reason_commitment=reason_commitment(nonce, reason)))
        return share

    def copy(self, parent: EvidenceItem, *, object_key: str, wrapped_key: bytes, sha256: str,
             size_bytes: int, now: datetime) -> EvidenceItem:
        """The destination's item: the parent's footage under a key and object of its own;
        its custody starts with ``evidence.received`` for the destination."""
        copy = EvidenceItem(
            id=self.id, consent_id=parent.consent_id, request_id=parent.request_id,
            agency_id=self.to_agency_id, source_clip_id=parent.source_clip_id,
            source_sha256=parent.source_sha256, sha256=sha256, size_bytes=size_bytes,
            container=parent.container, start_offset_seconds=parent.start_offset_seconds,
            end_offset_seconds=parent.end_offset_seconds, covers_from=parent.covers_from,
            covers_to=parent.covers_to, object_key=object_key, wrapped_key=wrapped_key,
            received_at=now, expires_at=self.expires_at, parent_id=parent.id)
        copy.record(EvidenceReceived(actor_id=None, evidence_id=self.id,
                                     request_id=parent.request_id, agency_id=self.to_agency_id,
                                     source_sha256=parent.source_sha256, sha256=sha256))
        return copy
