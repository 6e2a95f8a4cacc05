"""TOTP (RFC 6238) second factor with replay protection, and single-use recovery codes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import pyotp

from porchlight.accounts.domain.accounts import Account
from porchlight.accounts.domain.auth import (
    MfaDisabled,
    MfaEnrolled,
    RecoveryCode,
    RecoveryCodesIssued,
)
from porchlight.accounts.services.credentials import (
    Security,
    digest,
    normalise_recovery_code,
    recovery_code,
)
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.services.ports import UnitOfWork

ISSUER = "Porchlight"
RECOVERY_CODES = 10
STEP_SECONDS = 30


def _context(account_id: UUID) -> bytes:
    return f"account:{account_id}:totp".encode()


def totp_secret(sec: Security, account: Account) -> str:
    if account.totp_secret_sealed is None:
        raise Conflict("no authenticator is being set up")
    return sec.vault.open(account.totp_secret_sealed, context=_context(account.id)).decode()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def start_enrolment(sec: Security, account: Account) -> str:
    """Give the account a fresh, not yet active TOTP secret and return it."""
    if account.has_mfa:
        raise Conflict("two-step sign-in is already on; turn it off first to change it")
    secret = pyotp.random_base32()
    account.totp_secret_sealed = sec.vault.seal(secret.encode(), context=_context(account.id))
    return secret


def accept_totp(sec: Security, account: Account, code: str, now: datetime) -> bool:
    """True for a current code (±1 step for clock drift) not used before on this account."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit() or account.totp_secret_sealed is None:
        return False
    totp = pyotp.TOTP(totp_secret(sec, account))
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if account.totp_last_step is not None and step <= account.totp_last_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            account.totp_last_step = step
            return True
    return False


def finish_enrolment(
    uow: UnitOfWork, sec: Security, account: Account, code: str, now: datetime
) -> list[str]:
    """Activate the pending secret once a code from it is shown; return new recovery codes."""
    if account.has_mfa:
        raise Conflict("two-step sign-in is already on")
    if not accept_totp(sec, account, code, now):
        raise ValidationFailed("that code is not right; check the time on your phone and retry",
                               field="code")
    account.totp_enabled_at = now
    account.record(MfaEnrolled(actor_id=account.id, account_id=account.id))
    return issue_recovery_codes(uow, account, now)


def issue_recovery_codes(uow: UnitOfWork, account: Account, now: datetime) -> list[str]:
    """Replace every unused recovery code with ten new ones, shown once."""
    for old in uow.recovery_codes.list_unused(account.id):
        old.used_at = now
    codes = [recovery_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        uow.recovery_codes.add(RecoveryCode(
            id=uuid4(), account_id=account.id, code_hash=digest(normalise_recovery_code(code)),
            created_at=now,
        ))
    account.record(RecoveryCodesIssued(actor_id=account.id, account_id=account.id,
                                       count=len(codes)))
    return codes


def use_recovery_code(uow: UnitOfWork, account: Account, code: str, now: datetime) -> bool:
    wanted = digest(normalise_recovery_code(code))
    for candidate in uow.recovery_codes.list_unused(account.id):
        if candidate.code_hash == wanted:
            candidate.used_at = now
            return True
    return False


def disable(uow: UnitOfWork, account: Account, now: datetime) -> None:
    account.totp_secret_sealed = None
    account.totp_enabled_at = None
    account.totp_last_step = None
    for code in uow.recovery_codes.list_unused(account.id):
        code.used_at = now
    account.record(MfaDisabled(actor_id=account.id, account_id=account.id))
