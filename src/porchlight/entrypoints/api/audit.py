"""The public, read-only JSON API of the audit log.

Hashes and leaf bytes are standard base64, as in the checkpoint notes.  Nothing here
needs trust: every answer can be checked against a checkpoint signed by the log's key,
which is what `porchlight audit verify --url` does.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from porchlight.audit.services import queries as audit_queries
from porchlight.audit.services.ports import AuditLogStore, LeafRow, StoredCheckpoint
from porchlight.entrypoints.api.schemas import ErrorBody

MAX_INDEX = 2**63 - 1
ERRORS = {status: {"model": ErrorBody} for status in (404, 422, 500)}

router = APIRouter(prefix="/api/v1/audit", tags=["audit log"], responses=ERRORS)


def _store(request: Request) -> AuditLogStore:
    return request.app.state.container.audit_store()


StoreDep = Annotated[AuditLogStore, Depends(_store)]


# A fresh Query each time: FastAPI binds each to its parameter's name.
def _required(minimum: int) -> Any:
    """A required index (from 0) or tree size (from 1)."""
    return Query(ge=minimum, le=MAX_INDEX)


def _start() -> Any:
    return Query(0, ge=0, le=MAX_INDEX)


def _end() -> Any:
    return Query(None, ge=0, le=MAX_INDEX)


def _size() -> Any:
    """An optional tree size; without it, the latest signed checkpoint's."""
    return Query(None, ge=1, le=MAX_INDEX)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


class CheckpointOut(BaseModel):
    origin: str | None
    size: int
    root: str
    note: str
    signed_at: datetime
    verifier_key: str

    @classmethod
    def of(cls, stored: StoredCheckpoint) -> CheckpointOut:
        parsed = audit_queries.parse_note(stored.note)
        return cls(origin=parsed.origin if parsed else None, size=stored.size,
                   root=b64(stored.root), note=stored.note, signed_at=stored.signed_at,
                   verifier_key=stored.verifier_key)


class LogStateOut(BaseModel):
    tree_size: int
    checkpoint: CheckpointOut | None


class CheckpointsOut(BaseModel):
    checkpoints: list[CheckpointOut]


class EntryOut(BaseModel):
    """One leaf. No event id: in a shuffled, padded batch it would count and order it."""

    index: int
    data: str
    leaf_hash: str
    entry: dict[str, Any] | None

    @classmethod
    def of(cls, row: LeafRow) -> EntryOut:
        index, _, data, leaf_hash = row
        return cls(index=index, data=b64(data), leaf_hash=b64(leaf_hash),
                   entry=audit_queries.parse_leaf(data))


class EntriesOut(BaseModel):
    tree_size: int
    entries: list[EntryOut]


class InclusionOut(BaseModel):
    index: int
    size: int
    leaf_hash: str
    root: str
    proof: list[str]


class ConsistencyOut(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


def _damaged(exc: audit_queries.AuditLogDamaged) -> HTTPException:
    return HTTPException(status_code=500, detail=f"the stored audit log is damaged: {exc}")


@router.get("/checkpoint", response_model=LogStateOut)
def latest_checkpoint(store: StoreDep) -> LogStateOut:
    """The newest signed checkpoint (null before the first one) and the number of leaves."""
    checkpoint, size = audit_queries.log_state(store)
    return LogStateOut(tree_size=size,
                       checkpoint=CheckpointOut.of(checkpoint) if checkpoint else None)


@router.get("/checkpoints", response_model=CheckpointsOut)
def list_checkpoints(
    store: StoreDep, after: int = _start(),
    limit: int = Query(100, ge=1, le=audit_queries.MAX_CHECKPOINTS),
) -> CheckpointsOut:
    """Every signed checkpoint with a size above ``after``, smallest first."""
    found = audit_queries.list_checkpoints(store, after, limit)
    return CheckpointsOut(checkpoints=[CheckpointOut.of(c) for c in found])


@router.get("/entries", response_model=EntriesOut)
def entries(store: StoreDep, start: int = _start(), end: int | None = _end()) -> EntriesOut:
    """Leaves ``start <= index < end``: at most 1000, never past the tree size, empty if
    ``end <= start``; 404 when ``start`` is beyond the log."""
    found = audit_queries.entries(store, start, end)
    return EntriesOut(tree_size=found.tree_size, entries=[EntryOut.of(r) for r in found.entries])


@router.get("/proofs/inclusion", response_model=InclusionOut)
def inclusion_proof(
    store: StoreDep, index: int = _required(0), size: int | None = _size()
) -> InclusionOut:
    """Audit path of leaf ``index`` in the tree of ``size`` leaves (default: latest checkpoint).

    404 when the log has no such leaf or tree: ``size`` beyond the log, ``index >= size``."""
    try:
        proof = audit_queries.inclusion(store, index, size)
    except audit_queries.AuditLogDamaged as exc:
        raise _damaged(exc) from exc
    return InclusionOut(index=proof.index, size=proof.size, leaf_hash=b64(proof.leaf_hash),
                        root=b64(proof.root), proof=[b64(h) for h in proof.proof])


@router.get("/proofs/consistency", response_model=ConsistencyOut)
def consistency_proof(
    store: StoreDep, first: int = _required(1), second: int | None = _size()
) -> ConsistencyOut:
    """Proof that the tree of ``first`` leaves is a prefix of the tree of ``second``.

    404 when the log has no such tree: ``second`` beyond the log, ``first > second``."""
    try:
        proof = audit_queries.consistency(store, first, second)
    except audit_queries.AuditLogDamaged as exc:
        raise _damaged(exc) from exc
    return ConsistencyOut(first=proof.first, second=proof.second,
                          first_root=b64(proof.first_root), second_root=b64(proof.second_root),
                          proof=[b64(h) for h in proof.proof])

