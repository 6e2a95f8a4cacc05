"""Checking a "where is my footage" download offline, with only the log's public key.

The download (``custody.services.footage_map.document``) carries the latest signed
checkpoint and, for every custody event of every copy of the resident's clips, its audit
leaf and — once the leaf is in that checkpoint — an inclusion proof. Checked here:

1. the checkpoint is signed by the key for the document's origin;
2. each event with a proof: its leaf is a public leaf of the event's kind whose payload
   names that copy's evidence id in the clear, and the proof leads from the leaf to the
   signed root (``audit.domain.verify_inclusion``).

Events not yet in the checkpoint are *pending* (download again after the next one);
anything else is *failed*.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from porchlight.audit.domain import (
    Checkpoint,
    CheckpointError,
    CheckpointVerifier,
    ProofError,
    leaf_hash,
    verify_inclusion,
)

FORMAT = "porchlight-footage/1"


class FootageDocumentError(ValueError):
    """Not a footage document, or its checkpoint is not signed by the key."""


@dataclass(frozen=True)
class EventCheck:
    evidence_id: str
    kind: str
    at: str
    status: str  # "proven", "pending" or "failed"
    index: int | None = None
    detail: str = ""


def check_footage(document: Mapping[str, Any], verifier_key: str) -> list[EventCheck]:
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise FootageDocumentError(f"not a {FORMAT} document")
    checkpoint = _checkpoint(document, verifier_key)
    clips = document.get("clips")
    if not isinstance(clips, list):
        raise FootageDocumentError("the document lists no clips")
    checks = []
    for clip in clips:
        for copy in (clip.get("copies") or []) if isinstance(clip, dict) else []:
            evidence_id = str(copy.get("evidence_id")) if isinstance(copy, dict) else "?"
            for event in (copy.get("custody") or []) if isinstance(copy, dict) else []:
                checks.append(_check_event(evidence_id, event, checkpoint))
    return checks


def _checkpoint(document: Mapping[str, Any], verifier_key: str) -> Checkpoint | None:
    carried = document.get("checkpoint")
    if carried is None:
        return None  # nothing signed yet: every event is pending
    note = carried.get("note") if isinstance(carried, dict) else None
    try:
        verifier = CheckpointVerifier(verifier_key, origin=str(document.get("origin")))
        return verifier.open(str(note))
    except (CheckpointError, ValueError) as exc:
        raise FootageDocumentError(f"the checkpoint is not signed by this key: {exc}") from exc


def _check_event(evidence_id: str, event: Any, checkpoint: Checkpoint | None) -> EventCheck:
    if not isinstance(event, dict):
        return EventCheck(evidence_id, "?", "?", "failed", detail="malformed event")
    kind, at, index = str(event.get("kind")), str(event.get("at")), event.get("leaf_index")

    def status(state: str, detail: str = "") -> EventCheck:
        return EventCheck(evidence_id, kind, at, state,
                          index if isinstance(index, int) else None, detail)

    if event.get("proof") is None:
        return status("pending", "not in the signed checkpoint yet" if index is not None
                      else "not in the log yet")
    try:
        leaf = base64.b64decode(event["leaf"], validate=True)
        proof = [base64.b64decode(node, validate=True) for node in event["proof"]]
    except (KeyError, TypeError, ValueError, binascii.Error):
        return status("failed", "the leaf or proof is not base64")
    if checkpoint is None or not isinstance(index, int) or not 0 <= index < checkpoint.size:
        return status("failed", "a proof beyond the signed checkpoint")
    problem = _leaf_problem(leaf, kind, evidence_id)
    if problem is not None:
        return status("failed", problem)
    try:
        verify_inclusion(leaf_hash(leaf), index, checkpoint.size, proof, checkpoint.root)
    except (ProofError, ValueError) as exc:
        return status("failed", f"the proof does not lead to the signed root: {exc}")
    return status("proven", f"in the checkpoint of size {checkpoint.size}")


def _leaf_problem(leaf: bytes, kind: str, evidence_id: str) -> str | None:
    try:
        content = json.loads(leaf)
    except ValueError:
        return "the leaf is not JSON"
    payload = content.get("payload") if isinstance(content, dict) else None
    if not isinstance(payload, dict) or content.get("kind") != kind:
        return f"the leaf is not a public {kind} event"
    if payload.get("evidence_id") != evidence_id:
        return "the leaf names another evidence item"
    return None
