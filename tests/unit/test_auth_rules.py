"""Pure sign-in rules: the lockout window, session lifetimes, password rules, link tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from porchlight.accounts.domain.accounts import Account, StaffRole
from porchlight.accounts.domain.auth import (
    OneTimeToken,
    Session,
    TokenPurpose,
    check_password_rules,
    mfa_required,
    register_failed_signin,
    unlock,
)
from porchlight.accounts.services.credentials import (
    digest,
    new_token,
    open_link_token,
    sign_link_token,
)
from porchlight.kernel.domain.errors import Conflict, ValidationFailed

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _resident() -> Account:
    return Account.resident(id=uuid4(), email="r@example.org", display_name="R", home=None,
                            now=T0)


def _officer() -> Account:
    return Account.staff(id=uuid4(), email="o@pd.example", display_name="O", agency_id=uuid4(),
                         role=StaffRole.OFFICER, now=T0, actor_id=None)


@pytest.mark.parametrize(
    ("minutes", "locked"),
    [
        ([0, 1, 2, 3, 4], True),
        ([0, 3, 6, 9, 14.9], True),
        ([0, 3, 6, 9, 15], False),  # the first failure has left the window
        ([0, 10, 14, 16, 17, 18], True),  # 10, 14, 16, 17, 18 fall within fifteen minutes
        ([0, 4, 8, 12, 16, 20, 24, 28], False),
    ],
)
def test_lockout_counts_failures_in_any_fifteen_minutes(minutes: list[float], locked: bool) -> None:
    account = _resident()
    for m in minutes:
        register_failed_signin(account, now=T0 + timedelta(minutes=m), reason="bad_password")
    assert account.is_locked is locked
    kinds = [e.kind for e in account.pull_events()]
    assert kinds.count("signin.failed") == len(minutes)
    assert kinds.count("account.locked") == (1 if locked else 0)


def test_unlock_clears_the_counter_and_records_who() -> None:
    account = _resident()
    for m in range(5):
        register_failed_signin(account, now=T0 + timedelta(minutes=m), reason="bad_password")
    admin = uuid4()
    unlock(account, actor_id=admin, reason="admin")
    assert not account.is_locked and account.failed_signins == []
    unlocked = account.pull_events()[-1]
    assert (unlocked.kind, unlocked.actor_id) == ("account.unlocked", admin)


def _session(account: Account) -> Session:
    return Session(id=uuid4(), account_id=account.id, token_hash="0" * 64, csrf_secret="x",
                   created_at=T0, last_seen_at=T0)


@pytest.mark.parametrize(
    ("age", "idle", "reason"),  # minutes since sign-in, minutes since last request
    [
        (29, 29, None),
        (30, 30, "idle_timeout"),
        (11 * 60 + 59, 1, None),
        (12 * 60, 1, "absolute_timeout"),
    ],
)
def test_staff_session_limits(age: int, idle: int, reason: str | None) -> None:
    officer = _officer()
    session = _session(officer)
    now = T0 + timedelta(minutes=age)
    session.last_seen_at = now - timedelta(minutes=idle)
    assert session.expiry_reason(officer, now) == reason


def test_disabled_account_ends_sessions_and_end_is_once() -> None:
    officer = _officer()
    session = _session(officer)
    officer.disable(now=T0, actor_id=None)
    assert session.expiry_reason(officer, T0) == "account_disabled"
    session.end(now=T0, reason="signed_out")
    session.end(now=T0 + timedelta(minutes=1), reason="signed_out")
    assert len(session.pull_events()) == 1


def test_mfa_is_required_for_staff_and_admins_only() -> None:
    assert mfa_required(_officer())
    assert not mfa_required(_resident())


@pytest.mark.parametrize(
    "password",
    ["short", "passwordpassword", "PasswordPassword", "iloveyou123!", "r@example.org", "x" * 257],
)
def test_password_rules_refuse(password: str) -> None:
    common = frozenset({"passwordpassword", "iloveyou"})
    with pytest.raises(ValidationFailed):
        check_password_rules(password, common=common, email="r@example.org")


def test_password_rules_accept_a_long_uncommon_passphrase() -> None:
    check_password_rules("violet kettle on the moor", common=frozenset({"password"}),
                         email="r@example.org")


def test_one_time_tokens_are_single_use_and_expire() -> None:
    token = OneTimeToken(id=uuid4(), account_id=uuid4(), purpose=TokenPurpose.RESET_PASSWORD,
                         token_hash="0" * 64, created_at=T0, expires_at=T0 + timedelta(hours=1))
    token.use(now=T0 + timedelta(minutes=59))
    with pytest.raises(Conflict, match="already"):
        token.use(now=T0 + timedelta(minutes=59))
    late = OneTimeToken(id=uuid4(), account_id=uuid4(), purpose=TokenPurpose.RESET_PASSWORD,
                        token_hash="0" * 64, created_at=T0, expires_at=T0 + timedelta(hours=1))
    with pytest.raises(Conflict, match="expired"):
        late.use(now=T0 + timedelta(hours=1))


def test_link_tokens_are_signed_for_one_purpose() -> None:
    key = b"k" * 32
    token = new_token()
    assert len(token) >= 43 and digest(token) != token
    signed = sign_link_token(key, "reset_password", token)
    assert open_link_token(key, "reset_password", signed) == token
    for bad in (signed[:-1] + ("A" if signed[-1] != "A" else "B"),
                sign_link_token(key, "verify_email", token),
                sign_link_token(b"x" * 32, "reset_password", token), token, ""):
        with pytest.raises(Conflict):
            open_link_token(key, "reset_password", bad)
