"""Sign-in, two-step verification, sessions and sign-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from porchlight.accounts.domain.accounts import Account, normalise_email
from porchlight.accounts.domain.auth import (
    Session as UserSession,
)
from porchlight.accounts.domain.auth import (
    SigninFailed,
    SigninSucceeded,
    mfa_required,
    register_failed_signin,
)
from porchlight.accounts.services import mfa
from porchlight.accounts.services.credentials import Security, digest, new_token
from porchlight.kernel.domain.errors import DomainError, NotFound, SigninRefused, ValidationFailed
from porchlight.kernel.services.ports import UnitOfWork
from porchlight.kernel.services.unit_of_work import WriteLockBusy

TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class NewSession:
    """What the caller sets as a cookie; the token exists nowhere else."""

    token: str
    session_id: UUID
    needs_mfa: bool
    must_enrol_mfa: bool


@dataclass(frozen=True)
class Authenticated:
    account: Account
    session: UserSession


def _find(uow: UnitOfWork, email: str) -> Account | None:
    try:
        return uow.accounts.get_by_email(normalise_email(email))
    except DomainError:
        return None


def sign_in(uow: UnitOfWork, sec: Security, email: str, password: str) -> NewSession:
    """Check the password; open a session, fully signed in or waiting for the second step.

    The password hash (about 0.1 s, on purpose) is checked with no transaction open: on
    SQLite a write transaction holds the only write lock, and anyone can post sign-ins.
    The outcome is then written in a short transaction that reads the account again and
    counts the check only if the hash it was made against is still the account's."""
    with uow.reading():
        checked = _find(uow, email)
    password_ok = _password_matches(sec, checked, password)
    with uow:
        now = uow.clock.now()
        account = _find(uow, email) if checked is not None else None
        if account is not None:
            uow.lock(account)  # concurrent failures must all count (PostgreSQL)
        if account is not None and (account.id != checked.id
                                    or account.password_hash != checked.password_hash):
            password_ok = False  # changed meanwhile: the check was against another hash
        refusal = _refusal(account, password_ok)
        if refusal is not None:
            _record_failure(uow, account, refusal, now)
            uow.commit()
            raise SigninRefused()
        assert account is not None
        opened = _open_session(uow, account, now)
        uow.commit()
        return opened


def _password_matches(sec: Security, account: Account | None, password: str) -> bool:
    """The slow check; the same cost whether or not the account exists or has a password."""
    if account is None or account.password_hash is None:
        sec.passwords.verify(sec.dummy_hash, password)
        return False
    return sec.passwords.verify(account.password_hash, password)


def _refusal(account: Account | None, password_ok: bool) -> str | None:
    if account is None:
        return "unknown_account"
    if account.password_hash is None:
        return "no_password"
    if not password_ok:
        return "bad_password"
    if account.is_disabled:
        return "disabled"
    if account.is_locked:
        return "locked"
    return None


def _record_failure(uow: UnitOfWork, account: Account | None, reason: str, now: datetime) -> None:
    if account is None:
        uow.record(SigninFailed(account_id=None, reason=reason))
    elif reason in ("bad_password", "no_password"):
        register_failed_signin(account, now=now, reason=reason)
    else:
        account.record(SigninFailed(account_id=account.id, reason=reason))


def _open_session(uow: UnitOfWork, account: Account, now: datetime) -> NewSession:
    token = new_token()
    second_step = account.has_mfa or mfa_required(account)
    session = UserSession(
        id=uuid4(), account_id=account.id, token_hash=digest(token),
        csrf_secret=new_token(), created_at=now, last_seen_at=now,
        mfa_verified_at=None if second_step else now,
    )
    uow.sessions.add(session)
    if not second_step:
        # Failures are forgiven only by a complete sign-in: a right password followed by
        # wrong codes must keep counting towards the lock (the second step clears them).
        account.failed_signins = []
        account.record(SigninSucceeded(actor_id=account.id, account_id=account.id,
                                       session_id=session.id, mfa=False))
    return NewSession(token=token, session_id=session.id, needs_mfa=second_step,
                      must_enrol_mfa=second_step and not account.has_mfa)


def authenticate(uow: UnitOfWork, token: str | None) -> Authenticated | None:
    """The session behind a cookie, if it is open; ends it when a time limit has passed.

    Every request comes through here, so it reads without the write lock and writes
    only when there is something to write: a session to end, or ``last_seen_at`` to
    move on (at most once a ``TOUCH_INTERVAL``). Neither waits for another writer: if
    the write lock is busy, an expired session is simply refused (and ended by a later
    request) and an open one is let through untouched (touched a little later).
    """
    if not token:
        return None
    token_hash = digest(token)
    with uow.reading():
        found, needs_write = _check_session(uow, token_hash, may_write=False)
    if not needs_write:
        return found
    try:
        with uow.unless_busy():
            return _check_session(uow, token_hash, may_write=True)[0]
    except WriteLockBusy:
        return found  # None for an expired session; an open one goes through untouched


def _check_session(
    uow: UnitOfWork, token_hash: str, *, may_write: bool
) -> tuple[Authenticated | None, bool]:
    """The open session and its account (None if there is none), and whether something
    is left to write that ``may_write`` did not allow."""
    now = uow.clock.now()
    session = uow.sessions.get_by_token_hash(token_hash)
    account = uow.accounts.get(session.account_id) if session else None
    if session is None or account is None:
        return None, False
    expired = session.expiry_reason(account, now)
    if expired is not None:
        if session.ended_at is not None:
            return None, False
        if not may_write:
            return None, True
        session.end(now=now, reason=expired)
        uow.commit()
        return None, False
    found = Authenticated(account=account, session=session)
    if now - session.last_seen_at >= TOUCH_INTERVAL:
        if not may_write:
            return found, True
        session.last_seen_at = now
        uow.commit()
    return found, False


def verify_second_step(uow: UnitOfWork, sec: Security, session_id: UUID, code: str) -> None:
    """Accept a TOTP code or a recovery code for a session waiting for its second step."""
    with uow:
        now = uow.clock.now()
        session = uow.sessions.get(session_id)
        account = uow.accounts.get(session.account_id) if session else None
        if session is None or account is None or session.ended_at is not None:
            raise NotFound("no such session")
        # Codes used, failures counted and recovery codes spent are read-modify-writes of
        # the account: two sessions sending codes at once must meet one after the other.
        uow.lock(account)
        if account.is_locked or account.is_disabled:  # a lock stops every pending session too
            session.end(now=now, reason="account_locked")
            uow.commit()
            raise SigninRefused()
        if not account.has_mfa:
            raise ValidationFailed("set up two-step sign-in first")
        if mfa.accept_totp(sec, account, code, now) or mfa.use_recovery_code(
            uow, account, code, now
        ):
            _complete(session, account, now)
            uow.commit()
            return
        register_failed_signin(account, now=now, reason="bad_second_factor")
        if account.is_locked:
            end_all_sessions(uow, account, now, reason="account_locked")
        uow.commit()
    raise ValidationFailed("that code is not right", field="code")


def _complete(session: UserSession, account: Account, now: datetime) -> None:
    session.mfa_verified_at = now
    account.failed_signins = []
    account.record(SigninSucceeded(actor_id=account.id, account_id=account.id,
                                   session_id=session.id, mfa=True))


def start_mfa_enrolment(uow: UnitOfWork, sec: Security, account_id: UUID) -> str:
    """A new pending authenticator secret for the account; returns the otpauth URI."""
    with uow:
        account = _account(uow, account_id)
        secret = mfa.start_enrolment(sec, account)
        uow.commit()
        return mfa.provisioning_uri(secret, account.email)


def finish_mfa_enrolment(
    uow: UnitOfWork, sec: Security, session_id: UUID, code: str
) -> list[str]:
    """Turn two-step sign-in on; a session waiting for it becomes fully signed in."""
    with uow:
        now = uow.clock.now()
        session = uow.sessions.get(session_id)
        if session is None or session.ended_at is not None:
            raise NotFound("no such session")
        account = _account(uow, session.account_id)
        uow.lock(account)  # the code's step is used once, however many sessions send it
        codes = mfa.finish_enrolment(uow, sec, account, code, now)
        if session.mfa_verified_at is None:
            _complete(session, account, now)
        uow.commit()
        return codes


def pending_mfa_uri(uow: UnitOfWork, sec: Security, account_id: UUID) -> str | None:
    with uow.reading():
        account = _account(uow, account_id)
        if account.has_mfa or account.totp_secret_sealed is None:
            return None
        return mfa.provisioning_uri(mfa.totp_secret(sec, account), account.email)


def regenerate_recovery_codes(uow: UnitOfWork, account_id: UUID) -> list[str]:
    with uow:
        account = _account(uow, account_id)
        if not account.has_mfa:
            raise ValidationFailed("turn on two-step sign-in first")
        codes = mfa.issue_recovery_codes(uow, account, uow.clock.now())
        uow.commit()
        return codes


def turn_off_mfa(uow: UnitOfWork, account_id: UUID) -> None:
    with uow:
        account = _account(uow, account_id)
        if mfa_required(account):
            raise ValidationFailed("staff and admins must keep two-step sign-in on")
        if not account.has_mfa:
            raise ValidationFailed("two-step sign-in is already off")
        mfa.disable(uow, account, uow.clock.now())
        uow.commit()


def sign_out(uow: UnitOfWork, session_id: UUID) -> None:
    with uow:
        session = uow.sessions.get(session_id)
        if session is not None:
            session.end(now=uow.clock.now(), reason="signed_out")
            uow.commit()


def end_my_session(uow: UnitOfWork, account_id: UUID, session_id: UUID) -> None:
    """End one of my own sessions (another device); someone else's is 'not found'."""
    with uow:
        session = uow.sessions.get(session_id)
        if session is None or session.account_id != account_id:
            raise NotFound("no such session")
        session.end(now=uow.clock.now(), reason="ended_by_owner")
        uow.commit()


def my_sessions(uow: UnitOfWork, account_id: UUID) -> list[UserSession]:
    with uow.reading():
        account = _account(uow, account_id)
        now = uow.clock.now()
        return [s for s in uow.sessions.list_open(account_id)
                if s.expiry_reason(account, now) is None]


def end_all_sessions(uow: UnitOfWork, account: Account, now: datetime, reason: str) -> None:
    for session in uow.sessions.list_open(account.id):
        session.end(now=now, reason=reason)


def _account(uow: UnitOfWork, account_id: UUID) -> Account:
    account = uow.accounts.get(account_id)
    if account is None:
        raise NotFound("no such account")
    return account
