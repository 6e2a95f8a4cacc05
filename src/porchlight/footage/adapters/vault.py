"""The local key vault: a 256-bit key-encryption key in a 0600 file, AES-256-GCM envelopes.

Sealed format: version byte 0x01 ‖ 12-byte random nonce ‖ ciphertext ‖ 16-byte tag, with
the caller's context as associated data. A KMS-backed vault would implement the same
port; nothing outside this module sees the key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from porchlight.kernel.adapters.files import private_dirs

VERSION = b"\x01"
NONCE_BYTES = 12
KEY_BYTES = 32


class VaultError(Exception):
    """A sealed value could not be opened: wrong key, wrong context, or tampered bytes."""


def load_or_create_key(path: Path, *, create: bool) -> bytes:
    """Read the key file, creating it (mode 0600, atomically) on first run when allowed."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise VaultError(f"key file {path} is readable by others (mode {mode:o}); chmod 600")
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise VaultError(f"key file {path} must hold exactly {KEY_BYTES} bytes")
        return key
    if not create:
        raise VaultError(f"key file {path} does not exist")
    private_dirs(path.parent)
    key = secrets.token_bytes(KEY_BYTES)
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    return key


class LocalKeyVault:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise VaultError("the key-encryption key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path, *, create: bool = True) -> LocalKeyVault:
        return cls(load_or_create_key(path, create=create))

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, VERSION + context)

    def open(self, sealed: bytes, *, context: bytes) -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != VERSION:
            raise VaultError("not a sealed value of a known version")
        nonce = sealed[1 : 1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + NONCE_BYTES :], VERSION + context)
        except InvalidTag as exc:
            raise VaultError("sealed value failed authentication") from exc
