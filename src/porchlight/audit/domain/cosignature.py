"""C2SP tlog-cosignature: a witness's Ed25519 cosignature/v1 on a checkpoint.

A witness that checked a checkpoint signs ``"cosignature/v1\\ntime <t>\\n" + body`` (``t``
in Unix seconds, ``body`` the checkpoint text) and adds one note signature line,
``— <witness name> base64(key ID || t as 8 bytes big-endian || Ed25519 signature)``, where
the key ID is ``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` (signed-note key type
0x04).  Verifier keys are ``<name>+<key ID hex>+base64(0x04 || public key)``.
"""

from __future__ import annotations

import base64
import struct
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from porchlight.audit.domain.checkpoint import Checkpoint
from porchlight.audit.domain.note import (
    SIGNATURE_PREFIX,
    CheckpointError,
    check_key_name,
    format_key,
    key_hash,
    parse_signer_key,
    parse_verifier_key,
    split_note,
)

__all__ = [
    "COSIGNATURE_KEY_TYPE",
    "CosignatureSigner",
    "CosignatureVerifier",
    "cosignature_key_hash",
    "cosigned_message",
]

COSIGNATURE_KEY_TYPE = b"\x04"
_SIGNATURE_SIZE = 4 + 8 + 64


def cosignature_key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of a cosignature/v1 key."""
    return key_hash(name, public_key, COSIGNATURE_KEY_TYPE)


def cosigned_message(body: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: the header lines, then the checkpoint body."""
    if isinstance(timestamp, bool) or not 0 <= timestamp < 1 << 64:
        raise CheckpointError("cosignature time must be 0..2**64-1")
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


class CosignatureSigner:
    """A witness's key: cosigns checkpoint bodies it has checked."""

    __slots__ = ("_key", "_key_hash", "_name", "_public")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        check_key_name(name)
        self._name, self._key = name, private_key
        self._public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_hash = cosignature_key_hash(name, self._public)

    @classmethod
    def generate(cls, name: str) -> Self:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_signer_key(cls, signer_key: str) -> Self:
        """Load ``PRIVATE+KEY+<name>+<hash>+base64(0x04 || seed)`` and check its hash."""
        name, hash_hex, private_key = parse_signer_key(signer_key, "witness key",
                                                       COSIGNATURE_KEY_TYPE)
        signer = cls(name, private_key)
        if hash_hex != signer._key_hash.hex():
            raise CheckpointError("witness key hash does not match the key")
        return signer

    @property
    def name(self) -> str:
        return self._name

    @property
    def signer_key(self) -> str:
        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return format_key(self._name, self._key_hash, COSIGNATURE_KEY_TYPE, seed, private=True)

    @property
    def verifier_key(self) -> str:
        return format_key(self._name, self._key_hash, COSIGNATURE_KEY_TYPE, self._public)

    def cosign(self, checkpoint: Checkpoint, timestamp: int) -> str:
        """The signature line (newline included) to append to the checkpoint's note."""
        signature = self._key.sign(cosigned_message(checkpoint.body(), timestamp))
        raw = self._key_hash + struct.pack(">Q", timestamp) + signature
        return f"{SIGNATURE_PREFIX}{self._name} {base64.b64encode(raw).decode('ascii')}\n"


class CosignatureVerifier:
    """Checks one witness's cosignature on a signed checkpoint note."""

    __slots__ = ("_key", "_key_hash", "_name", "verifier_key")

    def __init__(self, verifier_key: str) -> None:
        self._name, self._key_hash, self._key = parse_verifier_key(
            verifier_key, "witness key", COSIGNATURE_KEY_TYPE)
        self.verifier_key = verifier_key

    @property
    def name(self) -> str:
        return self._name

    def verify(self, note: str | bytes) -> int:
        """The time of this witness's valid cosignature on ``note``; CheckpointError if none.

        Any line claiming to be this witness's must verify."""
        text, signatures = split_note(note)
        found: int | None = None
        for name, signature in signatures:
            if name != self._name or signature[:4] != self._key_hash:
                continue
            if len(signature) != _SIGNATURE_SIZE:
                raise CheckpointError(f"cosignature by {name} has the wrong length")
            (timestamp,) = struct.unpack(">Q", signature[4:12])
            try:
                self._key.verify(signature[12:], cosigned_message(text, timestamp))
            except InvalidSignature as exc:
                raise CheckpointError(f"cosignature by {name} does not verify") from exc
            found = max(found or 0, timestamp)
        if found is None:
            raise CheckpointError(f"note is not cosigned by witness {self._name}")
        return found
