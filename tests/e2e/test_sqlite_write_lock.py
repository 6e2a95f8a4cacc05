"""On SQLite one transaction at a time holds the write lock, and every write transaction
takes it at its start (BEGIN IMMEDIATE). These tests hold that lock from outside, as a
long upload commit or the audit sequencer would, and check that reading the site does
not queue behind it, and that the slow password hash never runs while the lock is held."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from porchlight.config import Settings
from porchlight.domain.errors import SigninRefused
from porchlight.services import signin
from tests.e2e.support import PASSWORD, Deployment, build_deployment


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return build_deployment(settings)


def _database(d: Deployment) -> str:
    return d.container.engine.url.database


@contextmanager
def _write_lock_held(d: Deployment) -> Iterator[None]:
    """Another writer's transaction, open for the whole block."""
    holder = sqlite3.connect(_database(d), timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def _write_lock_is_free(d: Deployment) -> bool:
    probe = sqlite3.connect(_database(d), timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def test_reading_the_site_does_not_wait_for_the_write_lock(d: Deployment) -> None:
    """Were any of these to take the lock, it would wait 30 s and then fail with 500."""
    browser = d.signed_in("resident_a")
    with _write_lock_held(d):
        assert not _write_lock_is_free(d)
        for path in ("/healthz", "/", "/clips", "/cameras", "/account", "/api/v1/me",
                     "/api/v1/me/clips"):
            assert browser.get(path).status_code == 200, path


def test_passwords_are_checked_and_hashed_with_the_write_lock_free(
    d: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    passwords = d.container.security.passwords
    lock_was_free: list[bool] = []
    verify, hash_ = passwords.verify, passwords.hash

    def checking_verify(stored: str, password: str) -> bool:
        lock_was_free.append(_write_lock_is_free(d))
        return verify(stored, password)

    def checking_hash(password: str) -> str:
        lock_was_free.append(_write_lock_is_free(d))
        return hash_(password)

    monkeypatch.setattr(passwords, "verify", checking_verify)
    monkeypatch.setattr(passwords, "hash", checking_hash)
    browser = d.browser()
    wrong = browser.submit("/signin", {"email": "resident_a@example.org", "password": "nope"})
    unknown = browser.submit("/signin", {"email": "nobody@example.org", "password": "nope"})
    browser.sign_in(d.people["resident_a"])
    changed = browser.submit("/account/password", {"current": PASSWORD,
                                                   "password": "another fine passphrase 8"})
    assert (wrong.status_code, unknown.status_code, changed.status_code) == (401, 401, 200)
    assert len(lock_was_free) == 5  # three sign-ins, then the current and the new password
    assert all(lock_was_free)


def test_a_password_changed_during_the_check_does_not_let_the_old_one_in(
    d: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check runs outside the transaction, so the write re-reads the account; a
    password changed in between (another tab, a reset) must win."""
    person = d.people["resident_a"]
    container = d.container
    passwords = container.security.passwords
    verify = passwords.verify

    def verify_then_change(stored: str, password: str) -> bool:
        matched = verify(stored, password)
        uow = container.uow()
        with uow:
            account = uow.accounts.get(person.id)
            account.password_hash = passwords.hash("a brand new passphrase 9")
            uow.commit()
        return matched

    monkeypatch.setattr(passwords, "verify", verify_then_change)
    with pytest.raises(SigninRefused):
        signin.sign_in(container.uow(), container.security, person.email, PASSWORD)
    uow = container.uow()
    with uow.reading():
        account = uow.accounts.get(person.id)
        assert len(account.failed_signins) == 1
        assert uow.sessions.list_open(person.id) == []
