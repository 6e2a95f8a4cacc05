"""Checking an evidence export offline, with only the log's public key (and witnesses').

What is checked, in order (each a named check in the report):

1. the ZIP holds exactly ``video.mp4``, ``manifest.json`` and ``manifest.sig``;
2. ``manifest.sig`` is a note signed by the log's key stating the SHA-256 of the exact
   bytes of ``manifest.json`` (so any changed byte of the manifest fails here);
3. the manifest is a ``porchlight-evidence-export/1`` document;
4. the video's SHA-256 and size are the manifest's (any changed byte of the video fails);
5. the checkpoint it carries is signed by the key, for the manifest's origin, and
   cosigned by enough of the witnesses given;
6. every custody event with a proof: its leaf is a public leaf of the expected kind that
   names this evidence item (``evidence.received`` also this file's SHA-256 and its
   parent's, ``evidence.exported`` the export's id), and the proof leads from the leaf to
   the signed root;
7. the chain starts with ``evidence.received`` and ends with this export.

Custody events not yet in the carried checkpoint are *pending*: reported, not failed.
Fresh proofs for them (``Fresh``, fetched from the log's public API by the caller) are
checked into a newer checkpoint, itself signed, cosigned and proven consistent with the
carried one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from porchlight.audit.domain import (
    Checkpoint,
    CheckpointError,
    CheckpointVerifier,
    CosignatureVerifier,
    NoteVerifier,
    ProofError,
    disclosure,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from porchlight.custody.domain.export import (
    EXPORTED,
    FORMAT,
    MEMBERS,
    RECEIVED,
    statement_digest,
)


@dataclass(frozen=True)
class ExportContents:
    """What the caller read from the ZIP: member names, the manifest and signature bytes,
    and the video's digest and size (hashed while streaming, never held whole)."""

    names: Sequence[str]
    manifest: bytes | None
    signature: bytes | None
    video_sha256: str | None
    video_size: int | None
    problem: str | None = None  # the archive or a member could not be read


@dataclass(frozen=True)
class FreshProof:
    index: int
    leaf: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class Fresh:
    """A newer checkpoint from the log and proofs into it (``--url``)."""

    note: str
    consistency: list[bytes]  # from the manifest's checkpoint to this one (empty: none)
    proofs: Mapping[int, FreshProof]  # by position in the custody chain


@dataclass(frozen=True)
class Witnesses:
    verifiers: Sequence[CosignatureVerifier]
    minimum: int


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class CustodyStatus:
    position: int
    kind: str
    at: str
    role: str
    status: str  # "proven", "pending" or "failed"
    index: int | None = None
    detail: str = ""


@dataclass
class ExportReport:
    checks: list[Check] = field(default_factory=list)
    custody: list[CustodyStatus] = field(default_factory=list)
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return (all(c.ok for c in self.checks)
                and all(c.status != "failed" for c in self.custody))

    @property
    def pending(self) -> list[CustodyStatus]:
        return [c for c in self.custody if c.status == "pending"]

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok


def check_export(contents: ExportContents, verifier_key: str, *,
                 witnesses: Witnesses | None = None, fresh: Fresh | None = None
                 ) -> ExportReport:
    """Check an export; ``verifier_key`` is the log's key (CheckpointError if malformed)."""
    key = NoteVerifier(verifier_key)  # a malformed key is the caller's error: raise
    report = ExportReport()
    if contents.problem is not None:
        report.add("archive", False, contents.problem)
        return report
    if not report.add("members", sorted(contents.names) == sorted(MEMBERS),
                      f"expected {', '.join(MEMBERS)}; found {', '.join(contents.names)}"):
        return report
    assert contents.manifest is not None and contents.signature is not None
    if not _check_signature(report, key, contents.manifest, contents.signature):
        return report
    manifest = _parse(report, contents.manifest)
    if manifest is None:
        return report
    report.manifest = manifest
    _check_video(report, manifest, contents)
    checkpoint = _carried_checkpoint(report, manifest, verifier_key, witnesses)
    newer = _fresh_checkpoint(report, manifest, verifier_key, witnesses, checkpoint, fresh)
    _check_custody(report, manifest, checkpoint, newer, fresh)
    return report


def _check_signature(report: ExportReport, key: NoteVerifier, manifest: bytes,
                     signature: bytes) -> bool:
    digest = hashlib.sha256(manifest).hexdigest()
    try:
        text = key.verify_note(signature)
    except CheckpointError as exc:
        return report.add("signature", False, f"manifest.sig is not signed by the key: {exc}")
    named = statement_digest(text)
    if named is None:
        return report.add("signature", False, "manifest.sig does not sign a manifest")
    return report.add("signature", named == digest,
                      "manifest.json is the signed manifest" if named == digest else
                      f"manifest.json has SHA-256 {digest}, the signature names {named}")


def _parse(report: ExportReport, manifest: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(manifest)
    except ValueError:
        document = None
    ok = (isinstance(document, dict) and document.get("format") == FORMAT
          and isinstance(document.get("evidence"), dict)
          and isinstance(document.get("custody"), list))
    report.add("manifest", ok, FORMAT if ok else f"not a {FORMAT} manifest")
    return document if ok else None


def _check_video(report: ExportReport, manifest: dict[str, Any],
                 contents: ExportContents) -> None:
    evidence = manifest["evidence"]
    same = (contents.video_sha256 == evidence.get("sha256")
            and contents.video_size == evidence.get("size_bytes"))
    report.add("video", same, f"SHA-256 {contents.video_sha256}, {contents.video_size} bytes"
               if same else f"video.mp4 has SHA-256 {contents.video_sha256} and "
               f"{contents.video_size} bytes; the manifest says {evidence.get('sha256')} and "
               f"{evidence.get('size_bytes')}")


def _open_checkpoint(report: ExportReport, name: str, note: str, verifier_key: str,
                     origin: str, witnesses: Witnesses | None) -> Checkpoint | None:
    try:
        checkpoint = CheckpointVerifier(verifier_key, origin=origin).open(note)
    except (CheckpointError, ValueError) as exc:
        report.add(name, False, f"not signed by the key: {exc}")
        return None
    report.add(name, True, f"size {checkpoint.size}, signed by the key")
    if witnesses is not None:
        cosigned = [w.name for w in witnesses.verifiers if _cosigned(w, note)]
        report.add(f"{name} witnesses", len(cosigned) >= witnesses.minimum,
                   f"cosigned by {len(cosigned)} of the {len(witnesses.verifiers)} witnesses "
                   f"given ({', '.join(cosigned) or 'none'}); {witnesses.minimum} required")
    return checkpoint


def _cosigned(witness: CosignatureVerifier, note: str) -> bool:
    try:
        witness.verify(note)
    except CheckpointError:
        return False
    return True


def _carried_checkpoint(report: ExportReport, manifest: dict[str, Any], verifier_key: str,
                        witnesses: Witnesses | None) -> Checkpoint | None:
    carried = manifest.get("checkpoint")
    if carried is None:
        return None  # nothing was sequenced yet: every custody event is pending
    note = carried.get("note") if isinstance(carried, dict) else None
    if not isinstance(note, str):
        report.add("checkpoint", False, "the manifest's checkpoint is malformed")
        return None
    return _open_checkpoint(report, "checkpoint", note, verifier_key,
                            str(manifest.get("origin")), witnesses)


def _fresh_checkpoint(report: ExportReport, manifest: dict[str, Any], verifier_key: str,
                      witnesses: Witnesses | None, carried: Checkpoint | None,
                      fresh: Fresh | None) -> Checkpoint | None:
    if fresh is None:
        return None
    newer = _open_checkpoint(report, "fresh checkpoint", fresh.note, verifier_key,
                             str(manifest.get("origin")), witnesses)
    if newer is None or carried is None:
        return newer
    try:
        if newer.size < carried.size:
            raise ProofError("the log's checkpoint is older than the manifest's")
        if newer.size == carried.size:
            if newer.root != carried.root:
                raise ProofError("two roots for one size")
        else:
            verify_consistency(carried.size, newer.size, fresh.consistency, carried.root,
                               newer.root)
    except ProofError as exc:
        report.add("consistency", False, f"the log's checkpoint does not extend the "
                   f"manifest's: {exc}")
        return None
    report.add("consistency", True, f"size {newer.size} extends size {carried.size}")
    return newer


def _check_custody(report: ExportReport, manifest: dict[str, Any], carried: Checkpoint | None,
                   newer: Checkpoint | None, fresh: Fresh | None) -> None:
    chain = manifest["custody"]
    for position, entry in enumerate(chain):
        proof = fresh.proofs.get(position) if fresh is not None else None
        report.custody.append(_custody_status(position, entry, manifest, carried, newer, proof))
    kinds = [entry.get("kind") if isinstance(entry, dict) else None for entry in chain]
    own = [e for e in chain if isinstance(e, dict) and e.get("kind") == EXPORTED
           and e.get("export_id") == manifest.get("export_id")]
    report.add("chain", bool(kinds) and kinds[0] == RECEIVED and len(own) == 1
               and chain[-1] is own[0],
               f"{len(chain)} custody events, from receipt to this export"
               if kinds and kinds[0] == RECEIVED and own and chain[-1] is own[0] else
               "the chain must start with evidence.received and end with this export")


def _custody_status(position: int, entry: Any, manifest: dict[str, Any],
                    carried: Checkpoint | None, newer: Checkpoint | None,
                    fresh: FreshProof | None) -> CustodyStatus:
    if not isinstance(entry, dict):
        return CustodyStatus(position, "?", "?", "?", "failed", detail="malformed entry")
    kind, at, role = str(entry.get("kind")), str(entry.get("at")), str(entry.get("role"))

    def status(state: str, index: int | None = None, detail: str = "") -> CustodyStatus:
        return CustodyStatus(position, kind, at, role, state, index, detail)

    try:
        index = entry.get("leaf_index")
        leaf = None if entry.get("leaf") is None else _b64(entry["leaf"])
        proof = None if entry.get("proof") is None else [_b64(h) for h in entry["proof"]]
    except (TypeError, ValueError, binascii.Error):
        return status("failed", detail="the entry's leaf or proof is not base64")
    target = carried
    if proof is None and fresh is not None and newer is not None:
        if index is not None and index != fresh.index:
            return status("failed", index, "the log names another leaf for this event")
        index, leaf, proof, target = fresh.index, fresh.leaf, fresh.proof, newer
    if proof is None:
        detail = ("sequenced after the manifest's checkpoint" if index is not None
                  else "not yet sequenced when exported")
        return status("pending", index, detail)
    if target is None or leaf is None or not isinstance(index, int):
        return status("failed", None, "a proof without a signed checkpoint or a leaf")
    problem = _leaf_problem(leaf, entry, manifest)
    if problem is not None:
        return status("failed", index, problem)
    try:
        verify_inclusion(leaf_hash(leaf), index, target.size, proof, target.root)
    except (ProofError, ValueError) as exc:
        return status("failed", index, f"the proof does not lead to the signed root: {exc}")
    return status("proven", index, f"in the checkpoint of size {target.size}")


def _b64(value: Any) -> bytes:
    return base64.b64decode(value, validate=True)


def _says(stated: Any, expected: Any, openings: Any, name: str) -> bool:
    """Whether the leaf's field is ``expected``: in the clear, or as a commitment that the
    manifest's secret for it opens to ``expected`` (public leaves commit to digests).  A
    leaf sequenced after the export (proven with ``--url``) has no secret in the signed
    manifest: its commitment cannot be opened, and the signed digests stand alone."""
    if not isinstance(stated, dict):
        return stated == expected
    if not isinstance(openings, Mapping) or name not in openings:
        return "commitment" in stated
    secret = openings.get(name)
    try:
        key = bytes.fromhex(secret) if isinstance(secret, str) else None
    except ValueError:
        key = None
    return (key is not None and isinstance(expected, str)
            and stated.get("commitment") == disclosure.commit_identity(key, expected))


def _leaf_problem(leaf: bytes, entry: Mapping[str, Any], manifest: Mapping[str, Any]
                  ) -> str | None:
    try:
        content = json.loads(leaf)
    except ValueError:
        return "the leaf is not JSON"
    payload = content.get("payload") if isinstance(content, dict) else None
    if not isinstance(payload, dict) or content.get("kind") != entry.get("kind"):
        return f"the leaf is not a public {entry.get('kind')} event"
    evidence = manifest["evidence"]
    expected: dict[str, Any] = {"evidence_id": evidence.get("id")}
    if entry.get("kind") == RECEIVED:
        expected |= {"sha256": evidence.get("sha256"),
                     "source_sha256": evidence.get("parent_sha256"),
                     "agency_id": evidence.get("agency_id"),
                     "request_id": evidence.get("request_id")}
    if entry.get("kind") == EXPORTED:
        expected |= {"export_id": entry.get("export_id")}
    wrong = sorted(name for name, value in expected.items()
                   if not _says(payload.get(name), value, entry.get("openings"), name))
    if wrong:
        return f"the leaf's {', '.join(wrong)} differ from the manifest"
    actor = content.get("actor")
    leaf_role = actor.get("role") if isinstance(actor, dict) else "system"
    if leaf_role != entry.get("role"):
        return f"the leaf's actor is a {leaf_role}, the manifest says {entry.get('role')}"
    return None
