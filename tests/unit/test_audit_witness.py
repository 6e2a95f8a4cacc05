"""Cosignatures (C2SP tlog-cosignature) and the witness's rules (C2SP tlog-witness)."""

from __future__ import annotations

import base64
import hashlib
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from porchlight.audit.adapters.witness_state import SqliteWitnessState
from porchlight.audit.domain import (
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    CheckpointVerifier,
    CosignatureSigner,
    CosignatureVerifier,
    InMemoryTree,
    WitnessRefusal,
    format_add_checkpoint,
    leaf_hash,
    parse_add_checkpoint,
)
from porchlight.audit.services.witness import Witness
from porchlight.kernel.adapters.clock import FixedClock

SEED = bytes(range(32))
NAME = "witness.example/w1"
BODY = "example.org/log\n5\n" + base64.b64encode(bytes(32)).decode() + "\n"


def test_cosignature_matches_an_independent_encoding() -> None:
    signer = CosignatureSigner(NAME, Ed25519PrivateKey.from_private_bytes(SEED))
    line = signer.cosign(Checkpoint.parse(BODY), 1_700_000_000)
    # independent: spell out the spec with hashlib, struct and the raw key
    public = Ed25519PrivateKey.from_private_bytes(SEED).public_key().public_bytes_raw()
    key_id = hashlib.sha256(NAME.encode() + b"\n\x04" + public).digest()[:4]
    assert signer.verifier_key == f"{NAME}+{key_id.hex()}+" + base64.b64encode(
        b"\x04" + public).decode()
    prefix, name, encoded = line[:2], *line[2:-1].split(" ")
    assert (prefix, name, line[-1]) == ("\u2014 ", NAME, "\n")
    raw = base64.b64decode(encoded)
    assert len(raw) == 76 and raw[:4] == key_id
    assert struct.unpack(">Q", raw[4:12]) == (1_700_000_000,)
    message = b"cosignature/v1\ntime 1700000000\n" + BODY.encode()
    Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], message)  # raises if wrong
    # the fixed vector (Ed25519 is deterministic)
    assert signer.verifier_key == (
        "witness.example/w1+e75f6532+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4")
    assert encoded == ("519lMgAAAABlU/EAKuNxePNbvH7Y2N8dQ/UzDENSHEfULZTNWpGe8xL947wsxa8A6RiYPnky"
                       "dgtj52s94BGJPdi9VhTryYZFYYFCAw==")
    note = BODY + "\n" + "\u2014 example.org/log " + base64.b64encode(b"abcd" + bytes(64)).decode(
        ) + "\n" + line
    assert CosignatureVerifier(signer.verifier_key).verify(note) == 1_700_000_000


def test_a_cosignature_on_another_body_or_key_fails() -> None:
    signer = CosignatureSigner.generate(NAME)
    line = signer.cosign(Checkpoint.parse(BODY), 42)
    other = BODY.replace("\n5\n", "\n6\n")
    verifier = CosignatureVerifier(signer.verifier_key)
    with pytest.raises(CheckpointError, match="does not verify"):
        verifier.verify(other + "\n" + line)
    with pytest.raises(CheckpointError, match="not cosigned"):
        CosignatureVerifier(CosignatureSigner.generate(NAME).verifier_key).verify(
            BODY + "\n" + line)
    assert CosignatureSigner.from_signer_key(signer.signer_key).verifier_key == (
        signer.verifier_key)
    with pytest.raises(CheckpointError, match="type 0x04"):  # a log key is not a witness key
        CosignatureVerifier(CheckpointSigner.generate(NAME).verifier_key)


def test_request_parsing() -> None:
    proof = [bytes([1]) * 32, bytes([2]) * 32]
    request = parse_add_checkpoint(format_add_checkpoint(3, proof, BODY + "\n— x AAAA\n"))
    assert (request.old_size, list(request.proof)) == (3, proof)
    for bad in (b"old 01\n\n" + BODY.encode(), b"old 3\nnot base64\n\n" + BODY.encode(),
                b"old 0\n" + base64.b64encode(bytes(32)) + b"\n\n" + BODY.encode(),
                b"new 3\n\n" + BODY.encode(), b"old 3\n" + BODY.encode()):
        with pytest.raises(WitnessRefusal) as caught:
            parse_add_checkpoint(bad)
        assert caught.value.status == 400


class Log:
    """A real log in memory, signed by a real key."""

    def __init__(self, origin: str = "example.org/log") -> None:
        self.tree, self.origin = InMemoryTree(), origin
        self.signer = CheckpointSigner.generate(origin)

    def grow(self, count: int, tag: bytes = b"") -> str:
        for _ in range(count):
            self.tree.append(leaf_hash(b"leaf %d" % self.tree.size + tag))
        return self.signer.sign(Checkpoint(self.origin, self.tree.size, self.tree.root()))


@pytest.fixture
def log() -> Log:
    return Log()


def witness_for(log: Log, tmp_path: Path) -> Witness:
    key = log.signer.verifier_key
    return Witness(CosignatureSigner.generate(NAME), [CheckpointVerifier(key)], [log.origin],
                   SqliteWitnessState(tmp_path / "w.db"),
                   FixedClock(datetime(2026, 12, 1, tzinfo=UTC)))


def refusal(witness: Witness, body: bytes) -> WitnessRefusal:
    with pytest.raises(WitnessRefusal) as caught:
        witness.add_checkpoint(body)
    return caught.value


def test_witness_cosigns_extensions_and_refuses_rollback_fork_and_bad_proofs(
    log: Log, tmp_path: Path
) -> None:
    witness = witness_for(log, tmp_path)
    first = log.grow(5)
    line = witness.add_checkpoint(format_add_checkpoint(0, [], first))
    CosignatureVerifier(witness.signer.verifier_key).verify(first + line)
    second = log.grow(4)
    proof = log.tree.consistency_proof(5, 9)
    assert refusal(witness, format_add_checkpoint(0, [], second)).known_size == 5  # stale old
    bad = [bytes(32), *proof[1:]]
    assert refusal(witness, format_add_checkpoint(5, bad, second)).status == 422
    witness.add_checkpoint(format_add_checkpoint(5, proof, second))
    # rollback: an older checkpoint of the same log
    assert refusal(witness, format_add_checkpoint(9, [], first)).status == 400
    assert refusal(witness, format_add_checkpoint(5, [], first)).known_size == 9
    # fork: the same key signs another history of size 9, then grows it
    fork = Log()
    fork.signer = log.signer
    fork_note = fork.grow(9, b" forged")
    assert refusal(witness, format_add_checkpoint(9, [], fork_note)).status == 409
    fork_next = fork.grow(3, b" forged")
    status = refusal(witness, format_add_checkpoint(9, fork.tree.consistency_proof(9, 12),
                                                    fork_next)).status
    assert status == 422
    # the witness still stands where it was, and re-cosigns its own checkpoint
    witness.add_checkpoint(format_add_checkpoint(9, [], second))


def test_witness_refuses_unknown_logs_and_other_keys(log: Log, tmp_path: Path) -> None:
    witness = witness_for(log, tmp_path)
    assert refusal(witness, format_add_checkpoint(0, [], Log("other.org/log").grow(2))
                   ).status == 404
    impostor = Log()
    assert refusal(witness, format_add_checkpoint(0, [], impostor.grow(2))).status == 403
