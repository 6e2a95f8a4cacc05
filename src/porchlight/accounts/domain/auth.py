"""Sign-in rules: lockout, session lifetimes, MFA requirements, and the credential entities.

The numbers follow the FBI CJIS Security Policy for staff and admins: five failed
attempts within fifteen minutes lock the account; a session ends after thirty minutes
idle and twelve hours in all; multi-factor sign-in is mandatory.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from porchlight.accounts.domain.accounts import Account, AccountKind
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import INTERNAL, DomainEvent

MAX_FAILED_SIGNINS = 5
FAILED_SIGNIN_WINDOW = timedelta(minutes=15)
STAFF_IDLE_TIMEOUT = timedelta(minutes=30)
STAFF_ABSOLUTE_TIMEOUT = timedelta(hours=12)
RESIDENT_IDLE_TIMEOUT = timedelta(days=14)
RESIDENT_ABSOLUTE_TIMEOUT = timedelta(days=30)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


class TokenPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name
    INVITE = "invite"


TOKEN_LIFETIMES = {
    TokenPurpose.VERIFY_EMAIL: timedelta(days=3),
    TokenPurpose.RESET_PASSWORD: timedelta(hours=1),
    TokenPurpose.INVITE: timedelta(days=7),
}


class ApiScope(enum.StrEnum):
    READ = "read"
    WRITE = "write"


# ---- events -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SigninSucceeded(DomainEvent):
    kind: ClassVar[str] = "signin.succeeded"
    account_id: UUID
    session_id: UUID
    mfa: bool


@dataclass(frozen=True, kw_only=True)
class SigninFailed(DomainEvent):
    kind: ClassVar[str] = "signin.failed"
    account_id: UUID | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class AccountLocked(DomainEvent):
    kind: ClassVar[str] = "account.locked"
    account_id: UUID
    reason: str


@dataclass(frozen=True, kw_only=True)
class AccountUnlocked(DomainEvent):
    kind: ClassVar[str] = "account.unlocked"
    account_id: UUID
    reason: str


@dataclass(frozen=True, kw_only=True)
class SessionEnded(DomainEvent):
    kind: ClassVar[str] = "session.ended"
    account_id: UUID
    session_id: UUID
    reason: str


@dataclass(frozen=True, kw_only=True)
class MfaEnrolled(DomainEvent):
    kind: ClassVar[str] = "mfa.enrolled"
    account_id: UUID


@dataclass(frozen=True, kw_only=True)
class MfaDisabled(DomainEvent):
    kind: ClassVar[str] = "mfa.disabled"
    account_id: UUID


@dataclass(frozen=True, kw_only=True)
class RecoveryCodesIssued(DomainEvent):
    kind: ClassVar[str] = "mfa.recovery_codes_issued"
    account_id: UUID
    count: int


@dataclass(frozen=True, kw_only=True)
class PasswordChanged(DomainEvent):
    kind: ClassVar[str] = "password.changed"
    account_id: UUID
    reason: str


@dataclass(frozen=True, kw_only=True)
class EmailVerified(DomainEvent):
    kind: ClassVar[str] = "email.verified"
    account_id: UUID


@dataclass(frozen=True, kw_only=True)
class TokenIssued(DomainEvent):
    kind: ClassVar[str] = "token.issued"
    account_id: UUID
    purpose: str
    token_id: UUID | None = field(default=None, metadata=INTERNAL)  # for the mail job


@dataclass(frozen=True, kw_only=True)
class ApiTokenCreated(DomainEvent):
    kind: ClassVar[str] = "api_token.created"
    account_id: UUID
    token_id: UUID
    scopes: str


@dataclass(frozen=True, kw_only=True)
class ApiTokenRevoked(DomainEvent):
    kind: ClassVar[str] = "api_token.revoked"
    account_id: UUID
    token_id: UUID


@dataclass(frozen=True, kw_only=True)
class DeviceTokenCreated(DomainEvent):
    kind: ClassVar[str] = "device_token.created"
    camera_id: UUID
    token_id: UUID


@dataclass(frozen=True, kw_only=True)
class DeviceTokenRevoked(DomainEvent):
    kind: ClassVar[str] = "device_token.revoked"
    camera_id: UUID
    token_id: UUID


# ---- rules --------------------------------------------------------------------------------


def mfa_required(account: Account) -> bool:
    """Staff and platform admins must use a second factor; for residents it is a choice."""
    return account.kind is not AccountKind.RESIDENT


def check_password_rules(password: str, *, common: frozenset[str], email: str) -> None:
    """NIST SP 800-63B style: long enough, not a known common password, not the e-mail."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"use at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(f"use at most {MAX_PASSWORD_LENGTH} characters", field="password")
    lowered = password.lower()
    if lowered in common or lowered.rstrip("0123456789!") in common:
        raise ValidationFailed("this password is on the list of common passwords; pick another",
                               field="password")
    if lowered == email.lower() or lowered == email.split("@")[0].lower():
        raise ValidationFailed("the password must not be your e-mail address", field="password")


def register_failed_signin(account: Account, *, now: datetime, reason: str) -> None:
    """Count a failure; the fifth within any fifteen minutes locks the account."""
    recent = [
        moment for moment in account.failed_signins
        if now - datetime.fromisoformat(moment) < FAILED_SIGNIN_WINDOW
    ]
    account.failed_signins = [*recent, now.isoformat()]
    account.record(SigninFailed(actor_id=None, account_id=account.id, reason=reason))
    if account.locked_at is None and len(account.failed_signins) >= MAX_FAILED_SIGNINS:
        account.locked_at = now
        account.record(AccountLocked(actor_id=None, account_id=account.id,
                                     reason="too_many_failed_signins"))


def unlock(account: Account, *, actor_id: UUID | None, reason: str) -> None:
    """Release a lock (an admin, or a resident's own password reset)."""
    account.failed_signins = []
    if account.locked_at is None:
        return
    account.locked_at = None
    account.record(AccountUnlocked(actor_id=actor_id, account_id=account.id, reason=reason))


def idle_timeout(account: Account) -> timedelta:
    return RESIDENT_IDLE_TIMEOUT if account.kind is AccountKind.RESIDENT else STAFF_IDLE_TIMEOUT


def absolute_timeout(account: Account) -> timedelta:
    if account.kind is AccountKind.RESIDENT:
        return RESIDENT_ABSOLUTE_TIMEOUT
    return STAFF_ABSOLUTE_TIMEOUT


# ---- entities -----------------------------------------------------------------------------


@dataclass(eq=False)
class Session(Entity):
    """A server-side session; the cookie holds a random token, the table only its hash."""

    id: UUID
    account_id: UUID
    token_hash: str
    csrf_secret: str
    created_at: datetime
    last_seen_at: datetime
    mfa_verified_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None

    def expiry_reason(self, account: Account, now: datetime) -> str | None:
        if self.ended_at is not None:
            return self.end_reason or "ended"
        if account.is_disabled:
            return "account_disabled"
        if account.is_locked:
            return "account_locked"
        if now - self.created_at >= absolute_timeout(account):
            return "absolute_timeout"
        if now - self.last_seen_at >= idle_timeout(account):
            return "idle_timeout"
        return None

    def end(self, *, now: datetime, reason: str) -> None:
        if self.ended_at is not None:
            return
        self.ended_at = now
        self.end_reason = reason
        self.record(SessionEnded(actor_id=self.account_id, account_id=self.account_id,
                                 session_id=self.id, reason=reason))

    @property
    def is_fully_signed_in(self) -> bool:
        return self.mfa_verified_at is not None


@dataclass(eq=False)
class OneTimeToken(Entity):
    """A single-use, expiring token mailed as a link (e-mail check, password reset, invite)."""

    id: UUID
    account_id: UUID
    purpose: TokenPurpose
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def check_usable(self, *, now: datetime) -> None:
        """Raise what ``use`` would, without using the link."""
        if self.used_at is not None:
            raise Conflict("this link has already been used")
        if now >= self.expires_at:
            raise Conflict("this link has expired; ask for a new one")

    def use(self, *, now: datetime) -> None:
        self.check_usable(now=now)
        self.used_at = now


@dataclass(eq=False)
class ApiToken(Entity):
    id: UUID
    account_id: UUID
    name: str
    token_hash: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def allows(self, scope: ApiScope) -> bool:
        return self.revoked_at is None and scope.value in self.scopes

    def revoke(self, *, now: datetime, actor_id: UUID) -> None:
        if self.revoked_at is not None:
            raise Conflict("the token is already revoked")
        self.revoked_at = now
        self.record(ApiTokenRevoked(actor_id=actor_id, account_id=self.account_id,
                                    token_id=self.id))


@dataclass(eq=False)
class DeviceToken(Entity):
    """A camera's upload-only credential; it can do nothing but add clips to its camera."""

    id: UUID
    camera_id: UUID
    token_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def revoke(self, *, now: datetime, actor_id: UUID) -> None:
        if self.revoked_at is not None:
            return
        self.revoked_at = now
        self.record(DeviceTokenRevoked(actor_id=actor_id, camera_id=self.camera_id,
                                       token_id=self.id))


@dataclass(eq=False)
class RecoveryCode(Entity):
    id: UUID
    account_id: UUID
    code_hash: str
    created_at: datetime
    used_at: datetime | None = None
