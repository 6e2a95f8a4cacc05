"""C2SP signed notes with Ed25519 keys (signature type 0x01).

A signed note is text, a blank line, then lines "— <key name> <base64(key ID || sig)>".
Parsing is strict on purpose: every field must be in its one canonical spelling, so a
signature can never be reinterpreted as covering a different text, and a malformed line
rejects the whole note even when it belongs to a key we do not know.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

__all__ = [
    "MAX_SIGNATURES",
    "SIGNATURE_PREFIX",
    "CheckpointError",
    "NoteSigner",
    "NoteVerifier",
    "b64decode_canonical",
    "check_text",
    "key_hash",
    "split_note",
]

SIGNATURE_PREFIX = "\u2014 "
"""Every signature line starts with an em dash and a space."""
MAX_SIGNATURES = 100
"""Notes with more signature lines are rejected to bound verification work."""
_ED25519 = b"\x01"
_HEX_HASH = re.compile(r"[0-9a-f]{8}")


class CheckpointError(ValueError):
    """A checkpoint, signed note or key is malformed, unverifiable or must not be signed."""


def b64decode_canonical(text: str, what: str) -> bytes:
    """Decode standard base64, refusing every non-canonical spelling of the same bytes."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64")
    return raw


def check_text(text: str, what: str) -> None:
    """Signed notes must not contain ASCII control characters other than newline."""
    if any(ch < " " and ch != "\n" for ch in text):
        raise CheckpointError(f"{what} contains control characters")


def check_key_name(name: str) -> None:
    """Key names are non-empty and free of spaces and '+' so key strings stay parseable."""
    if not isinstance(name, str) or not name:
        raise CheckpointError("key name must be a non-empty string")
    if "+" in name or any(ch.isspace() for ch in name):
        raise CheckpointError(f"key name {name!r} contains a space or '+'")
    check_text(name, "key name")


def key_hash(name: str, public_key: bytes, key_type: bytes = _ED25519) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || key type || public key)[:4] (type 0x01
    for note signatures, 0x04 for cosignature/v1)."""
    return hashlib.sha256(name.encode() + b"\n" + key_type + public_key).digest()[:4]


def _decode_key(encoded: str, what: str, key_type: bytes = _ED25519) -> bytes:
    """Decode base64(key type || 32 bytes), the encoding shared by signer and verifier keys."""
    raw = b64decode_canonical(encoded, what)
    if len(raw) != 33 or raw[:1] != key_type:
        raise CheckpointError(f"{what} is not a type 0x{key_type.hex()} Ed25519 key")
    return raw[1:]


def format_key(name: str, key_id: bytes, key_type: bytes, raw: bytes, *,
               private: bool = False) -> str:
    """``[PRIVATE+KEY+]<name>+<key ID hex>+base64(key type || raw key)``."""
    encoded = base64.b64encode(key_type + raw).decode("ascii")
    return ("PRIVATE+KEY+" if private else "") + f"{name}+{key_id.hex()}+{encoded}"


def parse_signer_key(signer_key: str, what: str, key_type: bytes = _ED25519
                     ) -> tuple[str, str, Ed25519PrivateKey]:
    """``PRIVATE+KEY+<name>+<hash>+<key>`` -> (name, hash hex, private key); the caller
    checks the hash against the key it builds."""
    parts = signer_key.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise CheckpointError(f"{what} must look like PRIVATE+KEY+name+hash+key")
    name, hash_hex, encoded = parts[2:]
    check_key_name(name)
    return name, hash_hex, Ed25519PrivateKey.from_private_bytes(
        _decode_key(encoded, what, key_type))


def parse_verifier_key(verifier_key: str, what: str, key_type: bytes = _ED25519
                       ) -> tuple[str, bytes, Ed25519PublicKey]:
    """``<name>+<hash>+<key>`` -> (name, key ID, public key), the hash checked."""
    parts = verifier_key.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError(f"{what} must look like name+hash+key")
    name, hash_hex, encoded = parts
    check_key_name(name)
    if not _HEX_HASH.fullmatch(hash_hex):
        raise CheckpointError(f"{what} hash must be 8 lowercase hex digits")
    public = _decode_key(encoded, what, key_type)
    if key_hash(name, public, key_type).hex() != hash_hex:
        raise CheckpointError(f"{what} hash does not match the key")
    try:
        key = Ed25519PublicKey.from_public_bytes(public)
    except ValueError as exc:
        raise CheckpointError(f"{what} is not a valid Ed25519 public key") from exc
    return name, bytes.fromhex(hash_hex), key


class NoteSigner:
    """Signs note text with one Ed25519 key under one key name."""

    __slots__ = ("_key", "_key_hash", "_name", "_public")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        check_key_name(name)
        self._name = name
        self._key = private_key
        self._public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_hash = key_hash(name, self._public)

    @classmethod
    def generate(cls, name: str) -> Self:
        """A signer with a fresh random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_signer_key(cls, signer_key: str) -> Self:
        """Load "PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>" and check its hash."""
        name, hash_hex, private_key = parse_signer_key(signer_key, "signer key")
        signer = cls(name, private_key)
        if hash_hex != signer._key_hash.hex():
            raise CheckpointError("signer key hash does not match the key")
        return signer

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_hash(self) -> bytes:
        return self._key_hash

    @property
    def signer_key(self) -> str:
        """The secret key string; store it like a password."""
        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return format_key(self._name, self._key_hash, _ED25519, seed, private=True)

    @property
    def verifier_key(self) -> str:
        """The public "<name>+<hash>+<base64(0x01 || public key)>" string to publish."""
        return format_key(self._name, self._key_hash, _ED25519, self._public)

    def sign_note(self, text: str) -> str:
        """Sign note text (newline-terminated, no control characters) into a signed note."""
        if not text.endswith("\n"):
            raise CheckpointError("note text must end with a newline")
        check_text(text, "note text")
        signature = self._key.sign(text.encode("utf-8"))
        encoded = base64.b64encode(self._key_hash + signature).decode("ascii")
        return f"{text}\n{SIGNATURE_PREFIX}{self._name} {encoded}\n"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.verifier_key!r})"


class NoteVerifier:
    """Accepts signed notes that carry a valid signature from one trusted key."""

    __slots__ = ("_key", "_key_hash", "_name")

    def __init__(self, verifier_key: str) -> None:
        self._name, self._key_hash, self._key = parse_verifier_key(verifier_key,
                                                                   "verifier key")

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_hash(self) -> bytes:
        return self._key_hash

    def verify_note(self, note: str | bytes) -> str:
        """Return the text of ``note`` if this key signed it; CheckpointError otherwise.

        Signatures from other keys are ignored (witness cosignatures, key rotation), but
        any signature line claiming to be from this key must verify.
        """
        text, signatures = split_note(note)
        payload, verified = text.encode("utf-8"), False
        for name, signature in signatures:
            if name != self._name or signature[:4] != self._key_hash:
                continue
            try:
                self._key.verify(signature[4:], payload)
            except InvalidSignature as exc:
                raise CheckpointError(f"signature by {name} does not verify") from exc
            verified = True
        if not verified:
            raise CheckpointError(f"note is not signed by {self._name}+{self._key_hash.hex()}")
        return text


def split_note(note: str | bytes) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a signed note into its text and (key name, key ID || signature) pairs."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError("note is not valid UTF-8") from exc
    check_text(note, "note")
    cut = note.rfind("\n\n")
    if not note.endswith("\n") or cut < 0:
        raise CheckpointError("note must be text, a blank line, then signature lines")
    lines = note[cut + 2 : -1].split("\n") if len(note) > cut + 2 else []
    if not lines:
        raise CheckpointError("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"note has more than {MAX_SIGNATURES} signatures")
    return note[: cut + 1], [_parse_signature_line(line) for line in lines]


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    """Parse "— <name> <base64>"; malformed lines reject the note even from unknown keys."""
    fields = line.removeprefix(SIGNATURE_PREFIX).split(" ")
    if not line.startswith(SIGNATURE_PREFIX) or len(fields) != 2:
        raise CheckpointError(f"malformed signature line {line!r}")
    name, encoded = fields
    check_key_name(name)
    signature = b64decode_canonical(encoded, "signature")
    if len(signature) < 5:
        raise CheckpointError("signature is too short to hold a key ID")
    return name, signature
