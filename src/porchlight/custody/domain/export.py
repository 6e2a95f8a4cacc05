"""The evidence locker export: one ZIP an evidence-management system can ingest.

An export holds three members:

* ``video.mp4`` — the evidence item's own bytes (the derived copy, decrypted);
* ``manifest.json`` — what the item is, where it came from, under what consent, and its
  custody chain so far, each custody event with its audit leaf and, once the leaf is in a
  signed checkpoint, an inclusion proof into the checkpoint the manifest carries;
* ``manifest.sig`` — a C2SP signed note by the audit log's key whose text is the
  *statement* below, naming the SHA-256 of ``manifest.json``'s exact bytes.

The statement cannot be mistaken for a checkpoint (a checkpoint's second line is a
decimal tree size and it has at least three lines) nor for a witness cosignature (another
key type), so the log's key can sign both without one standing in for the other.

Pure: the service decides what goes in; this module only fixes the shapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.kernel.domain.events import DomainEvent

FORMAT = "porchlight-evidence-export/1"
STATEMENT_HEADER = "porchlight evidence manifest v1"
VIDEO, MANIFEST, SIGNATURE = "video.mp4", "manifest.json", "manifest.sig"
MEMBERS = (MANIFEST, SIGNATURE, VIDEO)

RECEIVED, VIEWED, EXPORTED = "evidence.received", "evidence.viewed", "evidence.exported"
CUSTODY_KINDS = (RECEIVED, VIEWED, EXPORTED)
"""The audit kinds that are custody events of one item (their payload names it)."""

_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, kw_only=True)
class EvidenceExported(DomainEvent):
    """Custody: staff of the holding agency exported the item; the manifest's SHA-256 is
    on the record, so the log later vouches for exactly that manifest."""

    kind: ClassVar[str] = EXPORTED
    evidence_id: UUID
    export_id: UUID
    manifest_sha256: str


@dataclass(frozen=True, kw_only=True)
class EvidenceExportRefused(DomainEvent):
    """Staff, or a platform admin, were refused an export (``evidence_id`` None: no such
    item). Public, like every other action of agency staff."""

    kind: ClassVar[str] = "evidence.export_refused"
    evidence_id: UUID | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class EvidenceAccessDenied(DomainEvent):
    """A resident asked for an agency's evidence: refused, and audited as a resident's
    event (a commitment), as ``clip.access_denied`` is."""

    kind: ClassVar[str] = "evidence.access_denied"
    evidence_id: UUID | None
    reason: str


def mark_exported(item: EvidenceItem, *, actor_id: UUID | None, export_id: UUID,
                  manifest_sha256: str, now: datetime) -> None:
    """An export reads the whole copy: it counts as opening it (the resident can no longer
    take the footage back) and is a custody event of its own."""
    if not _HEX.fullmatch(manifest_sha256):
        raise ValueError("manifest_sha256 must be a SHA-256 hex digest")
    if item.first_opened_at is None:
        item.first_opened_at = now
    item.record(EvidenceExported(actor_id=actor_id, evidence_id=item.id, export_id=export_id,
                                 manifest_sha256=manifest_sha256))


def statement(manifest_sha256: str) -> str:
    """The note text ``manifest.sig`` signs."""
    if not _HEX.fullmatch(manifest_sha256):
        raise ValueError("not a SHA-256 hex digest")
    return f"{STATEMENT_HEADER}\nsha256 {manifest_sha256}\n"


def statement_digest(text: str) -> str | None:
    """The manifest SHA-256 a statement names; None when ``text`` is not a statement."""
    header, _, rest = text.partition("\n")
    digest = rest.removeprefix("sha256 ").removesuffix("\n")
    if header != STATEMENT_HEADER or not rest.startswith("sha256 ") or not _HEX.fullmatch(digest):
        return None
    return digest if text == statement(digest) else None


def encode_manifest(document: Mapping[str, Any]) -> bytes:
    """The manifest's bytes: sorted keys, indented for a reader, ASCII. What is signed is
    these bytes; a verifier hashes them and never re-encodes."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=True,
                       allow_nan=False) + "\n").encode("ascii")


def export_filename(item: EvidenceItem, case_number: str) -> str:
    """A file name that says what it is without trusting the case number's characters."""
    case = re.sub(r"[^A-Za-z0-9._-]+", "-", case_number).strip("-.")[:40] or "case"
    return f"evidence-{case}-{str(item.id)[:8]}.zip"
