"""`porchlight evidence verify`: read an export, optionally fetch fresh proofs for the
custody events it lists as pending from the log's public API, and check it
(``custody.domain.export_check``). Nothing fetched is trusted: it is checked against the
log's key, the witnesses' keys and the checkpoint the manifest carries."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from porchlight.audit.services.ports import LeafRow
from porchlight.audit.services.queries import parse_note
from porchlight.custody.domain.export import EXPORTED, MANIFEST, SIGNATURE, VIDEO
from porchlight.custody.domain.export_check import (
    ExportContents,
    ExportReport,
    Fresh,
    FreshProof,
    Witnesses,
    check_export,
)

BLOCK = 1 << 20
MAX_SMALL_MEMBER = 16 << 20  # a manifest or signature larger than this is not one


class PublicLog(Protocol):
    """The log's public API (``/api/v1/audit``), as ``audit.adapters.http`` serves it."""

    def latest_note(self) -> str | None: ...

    def leaf_chunks(self, start: int, end: int) -> Iterator[Sequence[LeafRow]]: ...

    def inclusion_proof(self, index: int, size: int) -> list[bytes]: ...

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]: ...


def read_export(path: Path) -> ExportContents:
    """The members of the ZIP, the video hashed in blocks (never held whole). A damaged
    archive (a changed byte fails its CRC) is reported, not raised."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            small = {name: _small(archive, name) for name in (MANIFEST, SIGNATURE)
                     if name in names}
            digest, size = _hash(archive) if VIDEO in names else (None, None)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        return ExportContents([], None, None, None, None, f"the archive is damaged: {exc}")
    return ExportContents(names, small.get(MANIFEST), small.get(SIGNATURE), digest, size)


def _small(archive: zipfile.ZipFile, name: str) -> bytes:
    if archive.getinfo(name).file_size > MAX_SMALL_MEMBER:
        raise ValueError(f"{name} is too large")
    return archive.read(name)


def _hash(archive: zipfile.ZipFile) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with archive.open(VIDEO) as video:
        while block := video.read(BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def verify_export(path: Path, verifier_key: str, *, witnesses: Witnesses | None = None,
                  log: PublicLog | None = None) -> ExportReport:
    """Check the export at ``path``; with ``log``, first fetch proofs for what is pending.
    Raises CheckpointError for a malformed key and LookupError/ValueError when the log
    cannot answer (the caller cannot run the check)."""
    contents = read_export(path)
    fresh = None
    if log is not None and contents.manifest is not None:
        fresh = fetch_fresh(_lenient(contents.manifest), log)
    return check_export(contents, verifier_key, witnesses=witnesses, fresh=fresh)


def _lenient(manifest: bytes) -> dict[str, Any]:
    """The manifest as the fetch reads it: unverified (what it finds is checked later)."""
    try:
        document = json.loads(manifest)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def fetch_fresh(manifest: Mapping[str, Any], log: PublicLog) -> Fresh | None:
    """The log's latest checkpoint, a consistency proof from the manifest's, and proofs
    for the custody events the manifest lists without one: those it had a leaf for by
    index, the others found by scanning the leaves added since the export."""
    chain = manifest.get("custody")
    note = log.latest_note()
    latest = parse_note(note) if note else None
    if not isinstance(chain, list) or latest is None:
        return None
    carried = manifest.get("checkpoint")
    carried_size = carried.get("size") if isinstance(carried, dict) else None
    consistency = (log.consistency_proof(carried_size, latest.size)
                   if isinstance(carried_size, int) and 0 < carried_size < latest.size else [])
    pending = {position: entry for position, entry in enumerate(chain)
               if isinstance(entry, dict) and entry.get("proof") is None}
    found = _known_leaves(pending)
    found |= _scan(log, manifest, pending, found.keys(), latest.size)
    proofs = {position: FreshProof(index, leaf, log.inclusion_proof(index, latest.size))
              for position, (index, leaf) in found.items() if index < latest.size}
    assert note is not None
    return Fresh(note, consistency, proofs)


def _known_leaves(pending: Mapping[int, dict[str, Any]]) -> dict[int, tuple[int, bytes]]:
    known = {}
    for position, entry in pending.items():
        if isinstance(entry.get("leaf_index"), int) and isinstance(entry.get("leaf"), str):
            try:
                known[position] = (entry["leaf_index"],
                                   base64.b64decode(entry["leaf"], validate=True))
            except (ValueError, binascii.Error):
                continue
    return known


def _scan(log: PublicLog, manifest: Mapping[str, Any], pending: Mapping[int, dict[str, Any]],
          known: Any, size: int) -> dict[int, tuple[int, bytes]]:
    """Leaves from the log's size at export time on, matched to the pending events in
    order: same kind, naming this item (an export also by its id) and the same role."""
    wanted = {position: entry for position, entry in pending.items() if position not in known}
    evidence = manifest.get("evidence")
    start = manifest.get("log_size")
    if not wanted or not isinstance(evidence, dict) or not isinstance(start, int):
        return {}
    found: dict[int, tuple[int, bytes]] = {}
    for chunk in log.leaf_chunks(max(0, start), size):
        for index, _, data, _ in chunk:
            position = _match(data, wanted, found.keys(), evidence.get("id"))
            if position is not None:
                found[position] = (index, data)
        if len(found) == len(wanted):
            break
    return found


def _match(data: bytes, wanted: Mapping[int, dict[str, Any]], taken: Any,
           evidence_id: Any) -> int | None:
    if not data.startswith(b'{"actor":'):
        return None  # a resident's commitment or padding: never a custody event
    try:
        leaf = json.loads(data)
    except ValueError:
        return None
    payload = leaf.get("payload") if isinstance(leaf, dict) else None
    if not isinstance(payload, dict) or payload.get("evidence_id") != evidence_id:
        return None
    actor = leaf.get("actor")
    role = actor.get("role") if isinstance(actor, dict) else "system"
    for position, entry in sorted(wanted.items()):
        if position in taken or entry.get("kind") != leaf.get("kind") or entry.get("role") != role:
            continue
        if entry.get("kind") == EXPORTED and payload.get("export_id") != entry.get("export_id"):
            continue
        return position
    return None
