"""The checkpoint signing key: one Ed25519 key in a file readable only by its owner.

The file holds the C2SP signer key string (``PRIVATE+KEY+<name>+<hash>+<key>``).  It is
created on first use with mode 0600 and without ever being visible half-written: the key
goes to a temporary file that is then hard-linked into place, which fails instead of
overwriting when another process won the race — so two processes never sign with two
different keys.  A key file that others can read is refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from porchlight.audit.domain import CheckpointSigner, CosignatureSigner
from porchlight.audit.services.ports import AuditKeyError
from porchlight.kernel.adapters.files import private_dirs

__all__ = ["AuditKeyError", "load_or_create_cosigner", "load_or_create_signer", "load_signer"]


def load_signer(path: Path) -> CheckpointSigner:
    """Load the signer from ``path``; AuditKeyError when there is no usable key."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise AuditKeyError(f"no audit signing key at {path}") from exc
    if stat.S_IMODE(mode) & 0o077:
        raise AuditKeyError(f"{path} is readable by others; run: chmod 600 {path}")
    try:
        return CheckpointSigner.from_signer_key(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise AuditKeyError(f"{path} does not hold an audit signing key: {exc}") from exc


def load_or_create_signer(path: Path, name: str) -> CheckpointSigner:
    """Load the signer, creating a fresh key named ``name`` (the log origin) the first time."""
    if not path.exists():
        _create(path, CheckpointSigner.generate(name).signer_key)
    return load_signer(path)


def load_or_create_cosigner(path: Path, name: str) -> CosignatureSigner:
    """A witness's cosignature key, created 0600 (named ``name``) on first use."""
    if not path.exists():
        _create(path, CosignatureSigner.generate(name).signer_key)
    _check_private(path)
    try:
        signer = CosignatureSigner.from_signer_key(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise AuditKeyError(f"{path} does not hold a witness key: {exc}") from exc
    if signer.name != name:
        raise AuditKeyError(f"{path} holds the key of witness {signer.name!r}, not {name!r}")
    return signer


def _check_private(path: Path) -> None:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise AuditKeyError(f"{path} is readable by others; run: chmod 600 {path}")


def _create(path: Path, secret: str) -> None:
    private_dirs(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secret + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return  # another process created the key first; everyone uses that one
        _fsync_directory(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
