"""JSON API for re-sharing evidence: staff of the agency holding an item share it with
another agency inside the owner's consent, and see where it went; the receiving agency's
staff list what was shared with them. What the owner is told is in the delivery
(``GET /api/v1/inbox/{delivery_id}``, ``reshares``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from porchlight.custody.services import reshare
from porchlight.entrypoints.api.routes import ERROR_RESPONSES
from porchlight.entrypoints.deps import ActorDep, UowDep
from porchlight.entrypoints.inputs import ReshareIn

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["evidence"])


class ShareOut(BaseModel):
    id: UUID = Field(description="the share; also the id of the copy it makes")
    evidence_id: UUID
    to_agency_id: UUID
    to_agency: str
    shared_at: datetime
    reason: str
    expires_at: datetime = Field(description="when the copy is deleted at the latest")
    copy_state: str = Field(description="pending (being copied), kept, deleted, or not_made "
                            "(the item or the consent went first)")

    @classmethod
    def of(cls, view: reshare.ShareView) -> ShareOut:
        share = view.share
        return cls(id=share.id, evidence_id=share.evidence_id, to_agency_id=share.to_agency_id,
                   to_agency=view.to_agency, shared_at=share.shared_at, reason=share.reason,
                   expires_at=share.expires_at, copy_state=view.copy_state)


class ReceivedOut(BaseModel):
    id: UUID
    from_agency: str
    case_number: str = Field(description="the sending agency's case")
    shared_at: datetime
    reason: str
    covers_from: datetime
    covers_to: datetime
    source_sha256: str
    sha256: str
    expires_at: datetime


@router.post("/evidence/{evidence_id}/reshare", response_model=ShareOut, status_code=201)
def reshare_evidence(evidence_id: UUID, body: ReshareIn, uow: UowDep,
                     actor: ActorDep) -> ShareOut:
    """Staff of the agency holding the item give another verified agency a copy, with a
    reason the owner reads. Refused with 422 ``policy_refused.<rule>`` (and audited) when
    the owner's consent does not admit the destination; the copy is made by a job."""
    share_id = reshare.reshare(uow, actor, body.command(evidence_id))
    found = reshare.share_form(uow, actor, evidence_id)
    return next(ShareOut.of(view) for view in found.shares if view.share.id == share_id)


@router.get("/evidence/{evidence_id}/shares", response_model=list[ShareOut])
def list_shares(evidence_id: UUID, uow: UowDep, actor: ActorDep) -> list[ShareOut]:
    """Where the holding agency shared the item, oldest first."""
    return [ShareOut.of(view) for view in reshare.share_form(uow, actor, evidence_id).shares]


@router.get("/evidence/received", response_model=list[ReceivedOut])
def received(uow: UowDep, actor: ActorDep) -> list[ReceivedOut]:
    """The copies other agencies shared with the caller's agency, still kept, newest first."""
    return [ReceivedOut(id=r.item.id, from_agency=r.from_agency, case_number=r.case_number,
                        shared_at=r.shared_at, reason=r.reason, covers_from=r.item.covers_from,
                        covers_to=r.item.covers_to, source_sha256=r.item.source_sha256,
                        sha256=r.item.sha256, expires_at=r.item.expires_at)
            for r in reshare.received_evidence(uow, actor)]
