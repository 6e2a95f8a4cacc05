"""API credentials: personal tokens for JSON clients, and upload-only device tokens for cameras."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from porchlight.accounts.domain.accounts import Account
from porchlight.accounts.domain.auth import (
    ApiScope,
    ApiToken,
    ApiTokenCreated,
    DeviceToken,
    DeviceTokenCreated,
)
from porchlight.accounts.services.credentials import digest, new_token
from porchlight.kernel.domain.errors import NotFound, ValidationFailed
from porchlight.kernel.domain.policies import Actor, require_camera_owner
from porchlight.kernel.services.ports import UnitOfWork
from porchlight.kernel.services.unit_of_work import WriteLockBusy

API_TOKEN_PREFIX = "plt_"  # noqa: S105 - a prefix, not a secret
DEVICE_TOKEN_PREFIX = "pld_"  # noqa: S105
MAX_API_TOKENS = 20
USE_RECORD_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """The plaintext exists only here, shown to its owner once."""

    id: UUID
    token: str


def create_api_token(
    uow: UnitOfWork, account_id: UUID, name: str, scopes: list[ApiScope]
) -> IssuedToken:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 60:
        raise ValidationFailed("name the token (1 to 60 characters)", field="name")
    if not scopes:
        raise ValidationFailed("pick at least one scope", field="scopes")
    with uow:
        account = uow.accounts.get(account_id)
        if account is None:
            raise NotFound("no such account")
        active = [t for t in uow.api_tokens.list_for_account(account_id) if t.revoked_at is None]
        if len(active) >= MAX_API_TOKENS:
            raise ValidationFailed(f"at most {MAX_API_TOKENS} tokens; revoke one first")
        token = new_token(API_TOKEN_PREFIX)
        record = ApiToken(id=uuid4(), account_id=account_id, name=name, token_hash=digest(token),
                          scopes=sorted({s.value for s in scopes}), created_at=uow.clock.now())
        uow.api_tokens.add(record)
        account.record(ApiTokenCreated(actor_id=account_id, account_id=account_id,
                                       token_id=record.id, scopes="-".join(record.scopes)))
        uow.commit()
        return IssuedToken(id=record.id, token=token)


def list_api_tokens(uow: UnitOfWork, account_id: UUID) -> list[ApiToken]:
    with uow.reading():
        return list(uow.api_tokens.list_for_account(account_id))


def revoke_api_token(uow: UnitOfWork, account_id: UUID, token_id: UUID) -> None:
    with uow:
        token = uow.api_tokens.get(token_id)
        if token is None or token.account_id != account_id:
            raise NotFound("no such token")
        token.revoke(now=uow.clock.now(), actor_id=account_id)
        uow.commit()


def authenticate_api_token(uow: UnitOfWork, token: str) -> tuple[Account, ApiToken] | None:
    """The account and token behind an API token. Read without the write lock; the use is
    recorded at most once a ``USE_RECORD_INTERVAL``, and skipped (for a later request)
    rather than waited for when another writer holds the lock."""
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    token_hash = digest(token)
    with uow.reading():
        found = _token_and_account(uow, token_hash)
    if found is None:
        return None
    return _recording_use(uow, found, found[1].last_used_at,
                          lambda: _token_and_account(uow, token_hash), lambda f: f[1])


T = TypeVar("T")


def _recording_use(uow: UnitOfWork, found: T, last_used: datetime | None,
                      fetch: Callable[[], T | None], token_of: Callable[[T], Any]) -> T | None:
    """``found`` (read without the write lock), its use recorded at most once a
    ``USE_RECORD_INTERVAL``: ``fetch`` reads it again under the write lock and ``token_of``
    names the row whose ``last_used_at`` is set. When another writer holds the lock the
    record is skipped (for a later request) rather than waited for."""
    now = uow.clock.now()
    if last_used is not None and now - last_used < USE_RECORD_INTERVAL:
        return found
    try:
        with uow.unless_busy():
            fresh = fetch()
            if fresh is not None:
                token_of(fresh).last_used_at = now  # a write per interval, not per request
                uow.commit()
            return fresh
    except WriteLockBusy:
        return found


def _token_and_account(uow: UnitOfWork, token_hash: str) -> tuple[Account, ApiToken] | None:
    record = uow.api_tokens.get_by_token_hash(token_hash)
    if record is None or record.revoked_at is not None:
        return None
    account = uow.accounts.get(record.account_id)
    if account is None or account.is_disabled:
        return None
    return account, record


def rotate_device_token(uow: UnitOfWork, actor: Actor, camera_id: UUID) -> IssuedToken:
    """Issue a new device token for my camera; any earlier one stops working at once."""
    with uow:
        camera = require_camera_owner(actor, uow.cameras.get(camera_id))
        now = uow.clock.now()
        for old in uow.device_tokens.list_for_camera(camera.id):
            old.revoke(now=now, actor_id=camera.owner_id)
        token = new_token(DEVICE_TOKEN_PREFIX)
        record = DeviceToken(id=uuid4(), camera_id=camera.id, token_hash=digest(token),
                             created_at=now)
        uow.device_tokens.add(record)
        camera.record(DeviceTokenCreated(actor_id=camera.owner_id, camera_id=camera.id,
                                         token_id=record.id))
        uow.commit()
        return IssuedToken(id=record.id, token=token)


def revoke_device_tokens(uow: UnitOfWork, actor: Actor, camera_id: UUID) -> None:
    with uow:
        camera = require_camera_owner(actor, uow.cameras.get(camera_id))
        for token in uow.device_tokens.list_for_camera(camera.id):
            token.revoke(now=uow.clock.now(), actor_id=camera.owner_id)
        uow.commit()


def authenticate_device(uow: UnitOfWork, token: str) -> UUID | None:
    """The camera a device token may upload to, or None. It grants nothing else. Read
    without the write lock; the use is recorded as an API token's is, at most once a
    ``USE_RECORD_INTERVAL`` and never waiting for another writer."""
    if not token.startswith(DEVICE_TOKEN_PREFIX):
        return None
    token_hash = digest(token)

    def live() -> DeviceToken | None:
        record = uow.device_tokens.get_by_token_hash(token_hash)
        return None if record is None or record.revoked_at is not None else record

    with uow.reading():
        record = live()
    if record is None:
        return None
    used = _recording_use(uow, record, record.last_used_at, live, lambda r: r)
    return None if used is None else used.camera_id


def device_token_status(uow: UnitOfWork, actor: Actor, camera_id: UUID) -> DeviceToken | None:
    with uow.reading():
        camera = require_camera_owner(actor, uow.cameras.get(camera_id))
        active = [t for t in uow.device_tokens.list_for_camera(camera.id) if t.revoked_at is None]
        return active[0] if active else None
