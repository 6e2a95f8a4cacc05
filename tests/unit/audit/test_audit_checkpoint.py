"""Checkpoints: body format, tampering, origin pinning, and the sign_next safety rule."""

from __future__ import annotations

import base64

import pytest

from porchlight.audit.domain import (
    EMPTY_ROOT,
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    CheckpointVerifier,
    InMemoryTree,
    leaf_hash,
)

ORIGIN = "porchlight.example/log"  # the origin and key name of the conftest signer
DASH = "\u2014"


def _checkpoint(log: InMemoryTree, size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, log.root(size))


def test_round_trip(
    signer: CheckpointSigner, verifier: CheckpointVerifier, log: InMemoryTree
) -> None:
    checkpoint = _checkpoint(log, 37)
    note = signer.sign(checkpoint)
    root = base64.b64encode(checkpoint.root).decode()
    assert note.startswith(f"{ORIGIN}\n37\n{root}\n\n{DASH} {ORIGIN} ")
    raw = base64.b64decode(note.splitlines()[-1].split(" ")[-1])
    assert raw[:4] == signer.key_hash and len(raw) == 68
    assert verifier.open(note) == checkpoint
    assert verifier.open(note.encode()) == checkpoint
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


def test_empty_tree_and_extension_lines_round_trip(signer: CheckpointSigner) -> None:
    verifier = CheckpointVerifier(signer.verifier_key)
    for checkpoint in (
        Checkpoint(ORIGIN, 0, EMPTY_ROOT),
        Checkpoint(ORIGIN, 5, b"\x07" * 32, ("ext one", "ext two")),
    ):
        assert verifier.open(signer.sign(checkpoint)) == checkpoint


@pytest.mark.parametrize(
    ("line", "replacement"), [(0, "porchlight.example/other"), (1, "38"), (2, "root")]
)
def test_tampered_body_fails(
    signer: CheckpointSigner, log: InMemoryTree, line: int, replacement: str
) -> None:
    note = signer.sign(_checkpoint(log, 37))
    lines = note.split("\n")
    lines[line] = replacement if line != 2 else base64.b64encode(log.root(36)).decode()
    with pytest.raises(CheckpointError, match="does not verify"):
        CheckpointVerifier(signer.verifier_key).open("\n".join(lines))


def test_wrong_key_fails(signer: CheckpointSigner, log: InMemoryTree) -> None:
    note = signer.sign(_checkpoint(log, 10))
    impostor = CheckpointSigner.generate(ORIGIN)
    with pytest.raises(CheckpointError, match="not signed by"):
        CheckpointVerifier(impostor.verifier_key).open(note)
    with pytest.raises(CheckpointError, match="not signed by"):
        CheckpointVerifier(signer.verifier_key).open(impostor.sign(_checkpoint(log, 10)))


def test_origin_must_match_the_expected_one(signer: CheckpointSigner, log: InMemoryTree) -> None:
    note = signer.sign(Checkpoint("porchlight.example/elsewhere", 3, log.root(3)))
    with pytest.raises(CheckpointError, match="origin"):
        CheckpointVerifier(signer.verifier_key, origin=ORIGIN).open(note)
    assert CheckpointVerifier(signer.verifier_key).open(note).size == 3


@pytest.mark.parametrize(
    "body",
    [
        "only\ntwo\n",
        f"{ORIGIN}\n007\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n-1\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n+1\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n 1\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n1.0\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n\u0661\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n{2**64}\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n1\n{base64.b64encode(bytes(31)).decode()}\n",
        f"{ORIGIN}\n1\n{base64.b64encode(bytes(33)).decode()}\n",
        f"{ORIGIN}\n1\n{base64.b64encode(bytes(32)).decode()[:-2]}B=\n",
        f"{ORIGIN}\n1\n{base64.b64encode(bytes(32)).decode().rstrip('=')}\n",
        f"{ORIGIN}\n0\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n1\n{base64.b64encode(bytes(32)).decode()}\n\next\n",
        f"\n1\n{base64.b64encode(bytes(32)).decode()}\n",
    ],
    ids=[
        "two-lines",
        "leading-zero",
        "negative",
        "plus-sign",
        "space",
        "not-an-integer",
        "non-ascii-digit",
        "over-uint64",
        "short-root",
        "long-root",
        "non-canonical-root",
        "unpadded-root",
        "empty-tree-with-wrong-root",
        "empty-extension-line",
        "empty-origin",
    ],
)
def test_signed_but_malformed_bodies_fail(signer: CheckpointSigner, body: str) -> None:
    note = signer.sign_note(body)
    verifier = CheckpointVerifier(signer.verifier_key)
    assert verifier.verify_note(note) == body
    with pytest.raises(CheckpointError):
        verifier.open(note)


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [
        ("", 1, bytes(32)),
        ("a\nb", 1, bytes(32)),
        (ORIGIN, -1, bytes(32)),
        (ORIGIN, True, bytes(32)),
        (ORIGIN, 2**64, bytes(32)),
        (ORIGIN, 1, bytes(31)),
        (ORIGIN, 0, bytes(32)),
    ],
)
def test_invalid_checkpoints_cannot_be_built(origin: str, size: int, root: bytes) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root)


def test_sign_next_accepts_genuine_extensions(
    signer: CheckpointSigner, verifier: CheckpointVerifier, log: InMemoryTree
) -> None:
    first = signer.sign_next(None, _checkpoint(log, 0), [])
    assert verifier.open(first).size == 0
    previous = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    for size in (1, 2, 3, 8, 8, 13, 40):
        new = _checkpoint(log, size)
        proof = log.consistency_proof(previous.size, size) if previous.size else []
        assert verifier.open(signer.sign_next(previous, new, proof)) == new
        previous = new


def test_sign_next_refuses_a_shrinking_tree(signer: CheckpointSigner, log: InMemoryTree) -> None:
    with pytest.raises(CheckpointError, match="shrank"):
        signer.sign_next(_checkpoint(log, 20), _checkpoint(log, 19), [])


def test_sign_next_refuses_forks(signer: CheckpointSigner, log: InMemoryTree) -> None:
    fork = InMemoryTree(log.leaf_hashes()[:16])
    for i in range(16, 30):
        fork.append(leaf_hash(b"rewritten-%d" % i))
    previous = _checkpoint(log, 20)
    same_size = Checkpoint(ORIGIN, 20, fork.root(20))
    with pytest.raises(CheckpointError, match="not an extension"):
        signer.sign_next(previous, same_size, [])
    bigger = Checkpoint(ORIGIN, 30, fork.root(30))
    with pytest.raises(CheckpointError, match="not an extension"):
        signer.sign_next(previous, bigger, fork.consistency_proof(20, 30))
    with pytest.raises(CheckpointError, match="not an extension"):
        signer.sign_next(previous, _checkpoint(log, 30), [])


def test_sign_next_refuses_origin_changes_and_proofs_from_nothing(
    signer: CheckpointSigner, log: InMemoryTree
) -> None:
    moved = Checkpoint("porchlight.example/other", 25, log.root(25))
    with pytest.raises(CheckpointError, match="origin"):
        signer.sign_next(_checkpoint(log, 20), moved, log.consistency_proof(20, 25))
    with pytest.raises(CheckpointError, match="empty"):
        signer.sign_next(Checkpoint(ORIGIN, 0, EMPTY_ROOT), _checkpoint(log, 4), [log.root(4)])
