"""The evidence export's offline check, on its own (no database): the signature, the
video, the checkpoint, witnesses, each custody proof, pending events and fresh proofs."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace

import pytest

from porchlight.audit.domain import (
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    CosignatureSigner,
    CosignatureVerifier,
    InMemoryTree,
    NoteSigner,
    leaf_hash,
)
from porchlight.custody.domain.export import (
    FORMAT,
    MEMBERS,
    encode_manifest,
    statement,
    statement_digest,
)
from porchlight.custody.domain.export_check import (
    ExportContents,
    Fresh,
    FreshProof,
    Witnesses,
    check_export,
)

ORIGIN = "porchlight.test/log"
EVIDENCE = "5b7f1a3e-0000-4000-8000-000000000001"
EXPORT = "5b7f1a3e-0000-4000-8000-0000000000e1"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
SHA = hashlib.sha256(VIDEO).hexdigest()
PARENT = "ab" * 32
AGENCY, REQUEST = "5b7f1a3e-0000-4000-8000-0000000000a1", "5b7f1a3e-0000-4000-8000-0000000000b1"


def _leaf(kind: str, payload: dict, role: str | None) -> bytes:
    actor = None if role is None else {"agency_id": AGENCY, "commitment": "00" * 32,
                                       "role": role}
    entry = {"actor": actor, "kind": kind, "payload": payload,
             "time": "2026-12-04T17:01:00Z", "v": 2, "version": 1}
    return json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()


RECEIVED = _leaf("evidence.received", {"agency_id": AGENCY, "evidence_id": EVIDENCE,
                                       "request_id": REQUEST, "sha256": SHA,
                                       "source_sha256": PARENT}, None)
VIEWED = _leaf("evidence.viewed", {"evidence_id": EVIDENCE}, "officer")
OWN = _leaf("evidence.exported", {"evidence_id": EVIDENCE, "export_id": EXPORT,
                                  "manifest_sha256": "cd" * 32}, "officer")


class Log:
    """A log with some padding, the item's received and viewed leaves, then more."""

    def __init__(self) -> None:
        self.signer = CheckpointSigner.generate(ORIGIN)
        self.leaves = [b"pad0", RECEIVED, b"pad2", VIEWED, b"pad4"]
        self.tree = InMemoryTree(leaf_hash(leaf) for leaf in self.leaves)

    def note(self, size: int | None = None) -> str:
        size = size or self.tree.size
        return self.signer.sign(Checkpoint(ORIGIN, size, self.tree.root(size)))

    def grow(self, *leaves: bytes) -> None:
        for leaf in leaves:
            self.leaves.append(leaf)
            self.tree.append(leaf_hash(leaf))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _entry(log: Log, kind: str, index: int | None, role: str, *, proven: bool = True,
           **extra) -> dict:
    leaf = log.leaves[index] if index is not None else None
    return {"kind": kind, "at": "2026-12-04T17:00:10+00:00", "role": role,
            "leaf_index": index, "leaf": _b64(leaf) if leaf else None,
            "proof": [_b64(h) for h in log.tree.inclusion_proof(index, 5)]
            if proven and index is not None else None, **extra}


def _manifest(log: Log, note: str | None = None, **changes) -> dict:
    document = {
        "format": FORMAT, "export_id": EXPORT, "origin": ORIGIN,
        "verifier_key": log.signer.verifier_key,
        "evidence": {"id": EVIDENCE, "sha256": SHA, "size_bytes": len(VIDEO),
                     "parent_sha256": PARENT, "agency_id": AGENCY, "request_id": REQUEST},
        "checkpoint": {"size": 5, "note": note or log.note(5)}, "log_size": 5,
        "custody": [_entry(log, "evidence.received", 1, "system"),
                    _entry(log, "evidence.viewed", 3, "officer"),
                    _entry(log, "evidence.exported", None, "officer", export_id=EXPORT)],
    }
    return document | changes


def _contents(log: Log, manifest: dict, *, video: bytes = VIDEO,
              signer: NoteSigner | None = None) -> ExportContents:
    body = encode_manifest(manifest)
    sig = (signer or log.signer).sign_note(statement(hashlib.sha256(body).hexdigest()))
    return ExportContents(list(MEMBERS), body, sig.encode(), hashlib.sha256(video).hexdigest(),
                          len(video))


def test_a_good_export_verifies_with_its_own_export_pending() -> None:
    log = Log()
    report = check_export(_contents(log, _manifest(log)), log.signer.verifier_key)
    assert report.ok, report.checks
    assert [c.status for c in report.custody] == ["proven", "proven", "pending"]


def test_the_statement_is_not_a_checkpoint_and_round_trips() -> None:
    assert statement_digest(statement(SHA)) == SHA
    assert statement_digest(f"{ORIGIN}\n5\n{_b64(bytes(32))}\n") is None
    with pytest.raises(CheckpointError):
        Checkpoint.parse(statement(SHA))


@pytest.mark.parametrize("position", [0, 1, 17, 100, -2, -1])
def test_a_changed_byte_of_the_manifest_fails(position: int) -> None:
    log = Log()
    good = _contents(log, _manifest(log))
    body = bytearray(good.manifest)
    body[position] ^= 0x20
    report = check_export(replace(good, manifest=bytes(body)), log.signer.verifier_key)
    assert not report.ok
    assert [c.name for c in report.checks if not c.ok] == ["signature"]


@pytest.mark.parametrize("position", [0, 9, 300, -1])
def test_a_changed_byte_of_the_video_fails(position: int) -> None:
    log = Log()
    video = bytearray(VIDEO)
    video[position] ^= 0x01
    report = check_export(_contents(log, _manifest(log), video=bytes(video)),
                          log.signer.verifier_key)
    assert [c.name for c in report.checks if not c.ok] == ["video"]


def test_another_key_fails_and_a_malformed_key_raises() -> None:
    log = Log()
    other = NoteSigner.generate(ORIGIN)
    assert not check_export(_contents(log, _manifest(log)), other.verifier_key).ok
    assert not check_export(_contents(log, _manifest(log), signer=other),
                            log.signer.verifier_key).ok
    with pytest.raises(CheckpointError):
        check_export(_contents(log, _manifest(log)), "not a key")


def test_missing_or_extra_members_fail() -> None:
    log = Log()
    good = _contents(log, _manifest(log))
    for names in (["manifest.json", "video.mp4"], [*MEMBERS, "extra.txt"]):
        assert not check_export(replace(good, names=names), log.signer.verifier_key).ok
    damaged = ExportContents([], None, None, None, None, "the archive is damaged")
    assert not check_export(damaged, log.signer.verifier_key).ok


def test_a_leaf_that_names_another_file_or_item_fails_even_with_a_good_proof() -> None:
    log = Log()
    manifest = _manifest(log)
    manifest["evidence"] = {**manifest["evidence"], "parent_sha256": "ef" * 32}
    report = check_export(_contents(log, manifest), log.signer.verifier_key)
    assert report.custody[0].status == "failed" and "source_sha256" in report.custody[0].detail
    manifest = _manifest(log)
    manifest["custody"][1]["role"] = "supervisor"
    assert check_export(_contents(log, manifest), log.signer.verifier_key).custody[1].status \
        == "failed"


def test_a_proof_into_another_root_fails() -> None:
    log = Log()
    manifest = _manifest(log)
    manifest["custody"][1]["proof"] = manifest["custody"][0]["proof"]
    report = check_export(_contents(log, manifest), log.signer.verifier_key)
    assert report.custody[1].status == "failed" and not report.ok


def test_the_chain_must_run_from_receipt_to_this_export() -> None:
    log = Log()
    manifest = _manifest(log)
    manifest["custody"] = manifest["custody"][1:]
    assert [c.name for c in check_export(_contents(log, manifest),
                                         log.signer.verifier_key).checks if not c.ok] == ["chain"]


def test_witnesses_must_have_cosigned_the_checkpoint() -> None:
    log = Log()
    w1, w2 = CosignatureSigner.generate("w.test/1"), CosignatureSigner.generate("w.test/2")
    note = log.note(5)
    cosigned = note + w1.cosign(Checkpoint(ORIGIN, 5, log.tree.root(5)), 1_800_000_000)
    contents = _contents(log, _manifest(log, note=cosigned))
    key = log.signer.verifier_key
    assert check_export(contents, key, witnesses=Witnesses([_witness(w1)], 1)).ok
    both = Witnesses([_witness(w1), _witness(w2)], 2)
    assert not check_export(contents, key, witnesses=both).ok
    assert check_export(contents, key, witnesses=replace(both, minimum=1)).ok


def _witness(signer: CosignatureSigner) -> CosignatureVerifier:
    return CosignatureVerifier(signer.verifier_key)


def test_fresh_proofs_prove_what_was_pending_into_a_consistent_newer_checkpoint() -> None:
    log = Log()
    contents = _contents(log, _manifest(log))
    log.grow(b"pad5", OWN, b"pad7")
    proof = FreshProof(6, OWN, log.tree.inclusion_proof(6, 8))
    fresh = Fresh(log.note(8), log.tree.consistency_proof(5, 8), {2: proof})
    report = check_export(contents, log.signer.verifier_key, fresh=fresh)
    assert report.ok and [c.status for c in report.custody] == ["proven"] * 3
    # a checkpoint that does not extend the manifest's (a fork) is refused
    forked = Log()
    forked.tree = InMemoryTree(leaf_hash(leaf) for leaf in [b"rewritten", *forked.leaves[1:],
                                                           b"pad5", OWN, b"pad7"])
    bad = Fresh(replace_signer(forked, log).note(8), forked.tree.consistency_proof(5, 8),
                {2: FreshProof(6, OWN, forked.tree.inclusion_proof(6, 8))})
    report = check_export(contents, log.signer.verifier_key, fresh=bad)
    assert [c.name for c in report.checks if not c.ok] == ["consistency"]
    assert report.custody[2].status == "pending"  # nothing proven into a forked root
    # a leaf for another export does not prove this one
    other = _leaf("evidence.exported", {"evidence_id": EVIDENCE, "export_id": EVIDENCE},
                  "officer")
    log.grow(other)
    wrong = Fresh(log.note(9), log.tree.consistency_proof(5, 9),
                  {2: FreshProof(8, other, log.tree.inclusion_proof(8, 9))})
    assert check_export(contents, log.signer.verifier_key, fresh=wrong).custody[2].status \
        == "failed"


def replace_signer(target: Log, source: Log) -> Log:
    target.signer = source.signer  # the same key signing another history
    return target
