"""Opening commitments: a resident's own events, an agency's staff, and oversight.

An export is one JSON document its holder can check offline with only the log's public
key (``porchlight audit open``): for every commitment it holds the leaf, the secret, what
the secret opens (the canonical event, or the account id committed in a public leaf), and
an inclusion proof into the signed checkpoint it carries.  Entries sequenced after that
checkpoint are listed without a proof until the next one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from porchlight.audit.domain import (
    CheckpointError,
    CheckpointVerifier,
    ProofError,
    disclosure,
    leaf_hash,
    verify_inclusion,
)
from porchlight.audit.services.log import committed_bytes
from porchlight.audit.services.ports import AuditLogReader, AuditLogStore, Opening
from porchlight.audit.services.queries import inclusion_proofs, with_cosignatures

PAGE = 500
FORMAT = "porchlight-audit-openings/1"


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def export(store: AuditLogStore, origin: str, verifier_key: str, *,
           account_id: UUID | None = None, agency_id: UUID | None = None) -> dict[str, Any]:
    """Every commitment the account (or the agency's staff, or with neither, anyone:
    oversight) may open, with proofs into the latest signed checkpoint."""
    with store.reading() as log:
        latest = log.latest_checkpoint()
        checkpoint = with_cosignatures(log, [latest])[0] if latest else None
        size = checkpoint.size if checkpoint else 0
        entries = []
        for page in _pages(log, account_id, agency_id):
            leaves = _leaves(log, [o.index for o in page])
            proofs = inclusion_proofs(log, [o.index for o in page if o.index < size], size)
            entries.extend(_entry(o, leaves[o.index], proofs.get(o.index)) for o in page)
    return {"format": FORMAT, "origin": origin, "verifier_key": verifier_key,
            "checkpoint": checkpoint.note if checkpoint else None, "entries": entries}


def _pages(log: AuditLogReader, account_id: UUID | None, agency_id: UUID | None
           ) -> Iterator[list[Opening]]:
    after = -1
    while True:
        page = log.openings(account_id=account_id, agency_id=agency_id, after=after,
                            limit=PAGE)
        if len(page) == PAGE and page[0].index != page[-1].index:
            cut = page[-1].index  # its other slots may be on the next page: take it then
            page = [o for o in page if o.index != cut]
        if not page:
            return
        yield page
        after = page[-1].index


def _leaves(log: AuditLogReader, indexes: list[int]) -> dict[int, bytes]:
    """The leaf bytes at these indexes, fetched by index (never the span between them)."""
    return log.leaf_data_at(indexes)


def _committed_value(opening: Opening) -> str:
    """What an identity slot commits to: the actor's id, or the payload field's value."""
    if opening.slot == "actor":
        return str(opening.event.actor_id)
    return str(opening.event.payload.get(opening.slot.removeprefix("payload.")))


def _entry(opening: Opening, leaf: bytes, proof: list[bytes] | None) -> dict[str, Any]:
    event = committed_bytes(opening.event)
    opens = _b64(event) if opening.slot == "event" else _committed_value(opening)
    return {"index": opening.index, "slot": opening.slot, "kind": opening.event.kind,
            "leaf": _b64(leaf), "secret": opening.secret.hex(), "opens": opens,
            "event": json.loads(event), "proof": None if proof is None else
            [_b64(node) for node in proof]}


@dataclass(frozen=True)
class OpeningCheck:
    index: int
    slot: str
    kind: str
    opens: bool
    included: bool | None  # None: sequenced after the export's checkpoint
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Nothing wrong with it (it may still await a checkpoint)."""
        return self.opens and self.included is not False

    @property
    def proven(self) -> bool:
        """It opens, and its proof leads to the signed checkpoint."""
        return self.opens and self.included is True


class ExportError(ValueError):
    """The document is not an openings export, or its checkpoint is not signed."""


def check(document: Mapping[str, Any], verifier_key: str) -> list[OpeningCheck]:
    """Check an export offline: the checkpoint's signature by ``verifier_key``, every
    entry's inclusion into it, and that every secret opens its commitment."""
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise ExportError(f"not a {FORMAT} document")
    checkpoint = None
    if document.get("checkpoint"):
        try:
            verifier = CheckpointVerifier(verifier_key, origin=str(document.get("origin")))
            checkpoint = verifier.open(str(document["checkpoint"]))
        except (CheckpointError, ValueError) as exc:
            raise ExportError(f"the checkpoint is not signed by this key: {exc}") from exc
    entries = document.get("entries")
    if not isinstance(entries, list):
        raise ExportError("the document has no entries")
    return [_check_entry(entry, checkpoint) for entry in entries]


def _check_entry(entry: Any, checkpoint: Any) -> OpeningCheck:
    try:
        index, slot, kind = int(entry["index"]), str(entry["slot"]), str(entry["kind"])
        leaf = base64.b64decode(entry["leaf"], validate=True)
        secret = bytes.fromhex(entry["secret"])
        proof = entry.get("proof")
    except (KeyError, TypeError, ValueError, binascii.Error):
        return OpeningCheck(-1, "?", "?", False, False, "the entry is malformed")
    opens, problem = _opens(leaf, slot, secret, entry.get("opens"))
    if opens and slot == "event":
        kind = _opened_kind(entry.get("opens")) or "?"  # what was opened, not what is said
    elif opens:
        kind = _public_kind(leaf) or "?"
    included: bool | None = None
    if proof is not None:
        included = False
        if checkpoint is not None and index < checkpoint.size:
            try:
                hashes = [base64.b64decode(h, validate=True) for h in proof]
                verify_inclusion(leaf_hash(leaf), index, checkpoint.size, hashes,
                                 checkpoint.root)
                included = True
            except (ProofError, ValueError, TypeError, binascii.Error):
                problem = problem or "the proof does not lead to the signed checkpoint"
        else:
            problem = problem or "the entry is beyond the signed checkpoint"
    return OpeningCheck(index, slot, kind, opens, included, problem)


def _opened_kind(opens: Any) -> str | None:
    try:
        event = json.loads(base64.b64decode(opens, validate=True))
    except (ValueError, TypeError, binascii.Error):
        return None
    kind = event.get("kind") if isinstance(event, dict) else None
    return kind if isinstance(kind, str) else None


def _public_kind(leaf: bytes) -> str | None:
    try:
        content = json.loads(leaf)
    except ValueError:
        return None
    kind = content.get("kind") if isinstance(content, dict) else None
    return kind if isinstance(kind, str) else None


def _opens(leaf: bytes, slot: str, secret: bytes, opens: Any) -> tuple[bool, str | None]:
    try:
        content = json.loads(leaf)
    except ValueError:
        return False, "the leaf is not JSON"
    if not isinstance(content, dict) or not isinstance(opens, str):
        return False, "the entry is malformed"
    if slot == "event":
        try:
            event = base64.b64decode(opens, validate=True)
        except (ValueError, binascii.Error):
            return False, "the event is not base64"
        ok = disclosure.opens(str(content.get("commitment")), secret, event)
        return ok, None if ok else "the secret does not open this commitment"
    committed = _slot_commitment(content, slot)
    ok = committed is not None and committed == disclosure.commit_identity(secret, opens)
    return ok, None if ok else "the secret does not open this commitment"


def _slot_commitment(content: dict[str, Any], slot: str) -> str | None:
    if slot == "actor":
        holder = content.get("actor")
    elif slot.startswith("payload."):
        payload = content.get("payload")
        holder = payload.get(slot.removeprefix("payload.")) if isinstance(payload, dict) else None
    else:
        return None
    value = holder.get("commitment") if isinstance(holder, dict) else None
    return value if isinstance(value, str) else None
