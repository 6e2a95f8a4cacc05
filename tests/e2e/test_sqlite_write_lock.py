"""On SQLite one transaction at a time holds the write lock, and every write transaction
takes it at its start (BEGIN IMMEDIATE). These tests hold that lock from outside, as a
long upload commit or the audit sequencer would, and check that reading the site does
not queue behind it, and that the slow password hash never runs while the lock is held."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from porchlight.accounts.services import signin
from porchlight.config import Settings
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.footage.services import cameras, library
from porchlight.footage.services.commands import ReceivedFile, RegisterCamera, UploadClip
from porchlight.kernel.domain.errors import SigninRefused
from tests.e2e.support import HOME_A, PASSWORD, Deployment, build_deployment


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


def _clip_of(d: Deployment, key: str, folder: Path) -> UUID:
    owner = _account(d, d.people[key].id)
    camera_id = cameras.register_camera(
        d.container.uow(), owner, RegisterCamera("Porch", HOME_A))
    path = make_demo_clip(folder / "clip.mp4", seconds=1, width=160, height=90, seed=1)
    return library.upload_clip(d.container.uow(), d.container.footage, camera_id,
        UploadClip(camera_id, d.clock.now() - timedelta(hours=1),
                   ReceivedFile(path, path.stat().st_size))).clip_id


def _account(d: Deployment, account_id: UUID):
    with d.container.uow().reading() as uow:
        return uow.accounts.get(account_id)


def _last_seen(d: Deployment, account_id: UUID) -> tuple:
    with d.container.uow().reading() as uow:
        sessions = uow.sessions.list_open(account_id)
        tokens = uow.api_tokens.list_for_account(account_id)
    return tuple(s.last_seen_at for s in sessions), tuple(t.last_used_at for t in tokens)


def test_reading_the_site_does_not_wait_for_the_write_lock(d: Deployment, tmp_path: Path) -> None:
    """Were any of these to take the lock, it would wait 30 s and then fail with 500. The
    session's and the API token's last-use times are due (two minutes have passed), and
    are written by a later request instead of waiting."""
    person = d.people["resident_a"]
    browser = d.signed_in("resident_a")
    created = browser.submit("/account/tokens", {"name": "script", "scopes": ["read"]})
    token = re.search(r'data-testid="secret">(plt_[\w-]+)<', created.text).group(1)
    clip_id = _clip_of(d, "resident_a", tmp_path)
    d.clock.advance(timedelta(minutes=2))
    before = _last_seen(d, person.id)
    with _write_lock_held(d):
        assert not _write_lock_is_free(d)
        for path in ("/healthz", "/", "/clips", "/cameras", "/account", "/api/v1/me",
                     "/api/v1/me/clips", f"/clips/{clip_id}", f"/clips/{clip_id}/poster.jpg"):
            assert browser.get(path).status_code == 200, path
        assert browser.get("/api/v1/me",
                           headers={"authorization": f"Bearer {token}"}).status_code == 200
        assert _last_seen(d, person.id) == before  # nothing written while the lock was held
    browser.get("/")
    browser.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    sessions, tokens = _last_seen(d, person.id)
    assert d.clock.now() in sessions and tokens == (d.clock.now(),)


def test_an_expired_session_is_refused_while_the_lock_is_held(d: Deployment) -> None:
    browser = d.signed_in("resident_a")
    d.clock.advance(timedelta(days=31))
    with _write_lock_held(d):
        assert browser.get("/api/v1/me").status_code == 401
    assert browser.get("/api/v1/me").status_code == 401  # and ended once the lock is free
    with d.container.uow().reading() as uow:
        assert uow.sessions.list_open(d.people["resident_a"].id) == []


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
    browser.submit("/password/forgot", {"email": "resident_b@example.org"})
    link = d.mailer.last_link("resident_b@example.org").removeprefix("http://127.0.0.1:8000")
    reset = browser.submit(link, {"password": "a brand new passphrase 9"})
    signed_up = browser.submit("/register", {
        "email": "new@example.org", "display_name": "New Neighbour",
        "password": "a long unusual passphrase 42", "home_lat": "45.51",
        "home_lon": "-122.65", "postal_address": ""})
    statuses = (wrong.status_code, unknown.status_code, changed.status_code,
                reset.status_code, signed_up.status_code)
    assert statuses == (401, 401, 200, 200, 200)
    # three sign-ins; the current and the new password; the reset; the sign-up
    assert len(lock_was_free) == 7
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
