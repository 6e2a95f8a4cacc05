"""Credentials: random tokens, their stored digests, signed mailed links, and what sign-in needs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from uuid import UUID

from porchlight.kernel.domain.errors import Conflict
from porchlight.kernel.services.ports import KeyVault, Mailer, PasswordHasher

TOKEN_BYTES = 32  # 256 bits: far above the 128 bits sessions need


@dataclass(frozen=True)
class Security:
    """Everything sign-in and credential use cases need besides the unit of work."""

    passwords: PasswordHasher
    vault: KeyVault
    mailer: Mailer
    base_url: str
    link_key: bytes
    common_passwords: frozenset[str]
    dummy_hash: str


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def link_token(key: bytes, token_id: UUID) -> str:
    """The secret of a one-time link, derived from its row's id with the link key.

    Only the digest is stored, and the mail job that sends the link later derives it
    again from the id: a database read alone never yields a usable link, and a retried
    job sends the same link, not a new one."""
    mac = hmac.new(key, b"one-time-link:" + token_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def digest(token: str) -> str:
    """What is stored for a token: SHA-256 of it. The tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def _mac(key: bytes, purpose: str, token: str) -> str:
    mac = hmac.new(key, f"{purpose}:{token}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sign_link_token(key: bytes, purpose: str, token: str) -> str:
    """A link token is the random token plus an HMAC naming its purpose.

    The signature lets a forged or cross-purpose link be refused before any database
    lookup; the stored digest makes the link single-use and lets it expire or be revoked.
    """
    return f"{token}.{_mac(key, purpose, token)}"


def open_link_token(key: bytes, purpose: str, signed: str) -> str:
    token, _, mac = signed.rpartition(".")
    if not token or not hmac.compare_digest(mac, _mac(key, purpose, token)):
        raise Conflict("this link is not valid")
    return token


def recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits each, ten codes, single use, rate-limited by lockout
    return f"{raw[:5]}-{raw[5:]}"


def normalise_recovery_code(code: str) -> str:
    return code.strip().lower().replace(" ", "")
