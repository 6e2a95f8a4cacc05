"""Signed-note layer: Go interoperability, signature lines, key strings, malformed notes."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from porchlight.audit.domain import (
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    CheckpointVerifier,
    InMemoryTree,
    NoteVerifier,
)

ORIGIN = "porchlight.example/log"  # the origin and key name of the conftest signer
DASH = "\u2014"

# The published example of Go's golang.org/x/mod/sumdb/note package (BSD licence):
# a fixed Ed25519 key, its verifier key, and the note it produces.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)


def _checkpoint(log: InMemoryTree, size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, log.root(size))


def test_go_note_example_is_reproduced_byte_for_byte() -> None:
    signer = CheckpointSigner.from_signer_key(GO_SIGNER_KEY)
    assert signer.verifier_key == GO_VERIFIER_KEY
    assert signer.signer_key == GO_SIGNER_KEY
    note = signer.sign_note(GO_TEXT)
    assert note == f"{GO_TEXT}\n{DASH} PeterNeumann {GO_SIGNATURE}\n"
    assert NoteVerifier(GO_VERIFIER_KEY).verify_note(note) == GO_TEXT


def test_unknown_signatures_are_ignored(
    signer: CheckpointSigner, verifier: CheckpointVerifier, log: InMemoryTree
) -> None:
    checkpoint = _checkpoint(log, 12)
    note = signer.sign(checkpoint)
    witness = CheckpointSigner.generate("witness.example/w1").sign(checkpoint).splitlines()[-1]
    # Same name as ours but another key: a different key ID, so it is just another key.
    rotated = CheckpointSigner.generate(ORIGIN).sign(checkpoint).splitlines()[-1]
    cosigned = note.replace(f"\n\n{DASH}", f"\n\n{witness}\n{rotated}\n{DASH}") + witness + "\n"
    assert verifier.open(cosigned) == checkpoint


def test_a_bad_signature_from_our_key_rejects_the_note(
    signer: CheckpointSigner, verifier: CheckpointVerifier, log: InMemoryTree
) -> None:
    note = signer.sign(_checkpoint(log, 12))
    line = note.splitlines()[-1]
    raw = bytearray(base64.b64decode(line.split(" ")[-1]))
    raw[-1] ^= 1
    forged = f"{DASH} {ORIGIN} {base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(CheckpointError, match="does not verify"):
        verifier.open(note + forged + "\n")


def _valid_signature_line(signer: CheckpointSigner) -> str:
    return signer.sign_note("x\n").splitlines()[-1]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda note: note.replace("\n\n", "\n"),  # no blank line
        lambda note: note.split("\n\n")[0] + "\n\n",  # no signature lines
        lambda note: note[:-1],  # no final newline
        lambda note: note + "\n",  # trailing blank line
        lambda note: note.replace(DASH, "-"),  # hyphen instead of em dash
        lambda note: note.replace(f"{DASH} ", f"{DASH}  "),  # double space
        lambda note: note[:-2] + "\n",  # signature base64 padding stripped
        lambda note: note.replace(f"{DASH} {ORIGIN} ", f"{DASH} bad+name "),
        lambda note: note.replace("\n\n", "\n\t\n"),  # control character
        lambda note: note + f"{DASH} other AAAA\n",  # signature too short for a key ID
        lambda note: note + f"{DASH} other !!!!\n",  # not base64
    ],
    ids=[
        "no-blank-line",
        "no-signatures",
        "no-final-newline",
        "trailing-blank-line",
        "hyphen",
        "double-space",
        "unpadded-base64",
        "plus-in-name",
        "control-character",
        "short-signature",
        "not-base64",
    ],
)
def test_malformed_notes_fail(
    signer: CheckpointSigner,
    verifier: CheckpointVerifier,
    log: InMemoryTree,
    mangle: Callable[[str], str],
) -> None:
    note = signer.sign(_checkpoint(log, 5))
    mangled = mangle(note)
    assert mangled != note
    with pytest.raises(CheckpointError) as caught:
        verifier.open(mangled)
    assert "does not verify" not in str(caught.value)


def test_non_canonical_signature_base64_fails(
    signer: CheckpointSigner, verifier: CheckpointVerifier, log: InMemoryTree
) -> None:
    note = signer.sign(_checkpoint(log, 5))
    encoded = note.splitlines()[-1].split(" ")[-1]
    # 68 bytes encode with "=" padding; the last data character carries 4 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(encoded[-2])
    sloppy = encoded[:-2] + alphabet[last | 1] + "="
    assert sloppy != encoded and base64.b64decode(sloppy) == base64.b64decode(encoded)
    with pytest.raises(CheckpointError, match="canonical"):
        verifier.open(note.replace(encoded, sloppy))


def test_too_many_signatures_fail(signer: CheckpointSigner, log: InMemoryTree) -> None:
    note = signer.sign(_checkpoint(log, 5))
    other = _valid_signature_line(CheckpointSigner.generate("w.example"))
    with pytest.raises(CheckpointError, match="more than"):
        CheckpointVerifier(signer.verifier_key).open(note + (other + "\n") * 100)


def test_invalid_utf8_fails(verifier: CheckpointVerifier) -> None:
    with pytest.raises(CheckpointError, match="UTF-8"):
        verifier.open(b"\xff\n1\n\n")


def test_key_strings_round_trip(signer: CheckpointSigner) -> None:
    loaded = CheckpointSigner.from_signer_key(signer.signer_key)
    assert loaded.verifier_key == signer.verifier_key
    assert loaded.key_hash == signer.key_hash and loaded.name == ORIGIN
    verifier = CheckpointVerifier(signer.verifier_key)
    assert (verifier.name, verifier.key_hash) == (ORIGIN, signer.key_hash)
    assert signer.signer_key not in repr(signer)
    fresh = CheckpointSigner.generate(ORIGIN)
    assert CheckpointSigner.from_signer_key(fresh.signer_key).verifier_key == fresh.verifier_key


KeyParts = tuple[str, str, str]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda name, hash_hex, key: (name, "00000000", key),
        lambda name, hash_hex, key: (name, hash_hex.upper(), key),
        lambda name, hash_hex, key: (name, hash_hex[:-1], key),
        lambda name, hash_hex, key: (name, hash_hex, key[:-1]),
        lambda name, hash_hex, key: (name, hash_hex, key[:-1] + "B"),
        lambda name, hash_hex, key: (name, hash_hex, ""),
        lambda name, hash_hex, key: ("other.example/log", hash_hex, key),
        lambda name, hash_hex, key: ("has space", hash_hex, key),
    ],
    ids=[
        "wrong-hash",
        "uppercase-hash",
        "short-hash",
        "truncated-key",
        "non-canonical-key",
        "missing-key",
        "other-name",
        "space-in-name",
    ],
)
def test_malformed_key_strings_fail(
    signer: CheckpointSigner, mangle: Callable[[str, str, str], KeyParts]
) -> None:
    public = signer.verifier_key.split("+", 2)[2]
    secret = signer.signer_key.split("+", 4)[4]
    hash_hex = signer.key_hash.hex()
    assert hash_hex == "c5af1d49"
    name, bad_hash, bad_public = mangle(ORIGIN, hash_hex, public)
    with pytest.raises(CheckpointError):
        CheckpointVerifier(f"{name}+{bad_hash}+{bad_public}")
    name, bad_hash, bad_secret = mangle(ORIGIN, hash_hex, secret)
    with pytest.raises(CheckpointError):
        CheckpointSigner.from_signer_key(f"PRIVATE+KEY+{name}+{bad_hash}+{bad_secret}")


@pytest.mark.parametrize(
    "key",
    ["", "name+c5af1d49", "PRIVATE+KEY+name+c5af1d49", "PUBLIC+KEY+a+b+c", "a+b+c+d"],
)
def test_key_strings_with_the_wrong_layout_fail(key: str) -> None:
    with pytest.raises(CheckpointError):
        CheckpointVerifier(key)
    with pytest.raises(CheckpointError):
        CheckpointSigner.from_signer_key(key)


def test_keys_of_another_algorithm_are_refused(signer: CheckpointSigner) -> None:
    name, hash_hex, encoded = signer.verifier_key.split("+", 2)
    other_type = base64.b64encode(b"\x04" + base64.b64decode(encoded)[1:]).decode()
    with pytest.raises(CheckpointError, match="Ed25519"):
        CheckpointVerifier(f"{name}+{hash_hex}+{other_type}")
    with pytest.raises(CheckpointError, match="newline"):
        signer.sign_note("no newline")
