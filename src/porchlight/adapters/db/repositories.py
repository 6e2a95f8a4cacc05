"""Repositories over a SQLAlchemy session; every entity they hand out is tracked for events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from porchlight.domain.accounts import Account, AccountKind
from porchlight.domain.agencies import Agency
from porchlight.domain.auth import ApiToken, DeviceToken, OneTimeToken, RecoveryCode, Session
from porchlight.domain.cameras import Camera
from porchlight.domain.entity import Entity

Track = Callable[[Entity], None]
T = TypeVar("T", bound=Entity)


class _Repository(Generic[T]):
    model: type[T]

    def __init__(self, session: DbSession, track: Track) -> None:
        self.session = session
        self._track = track

    def add(self, entity: T) -> None:
        self.session.add(entity)
        self._track(entity)

    def get(self, entity_id: UUID) -> T | None:
        entity = self.session.get(self.model, entity_id)
        if entity is not None:
            self._track(entity)
        return entity

    def get_by_token_hash(self, token_hash: str) -> T | None:
        found = self._all(select(self.model).where(self.model.token_hash == token_hash))
        return found[0] if found else None

    def _all(self, statement) -> list[T]:
        found = list(self.session.scalars(statement))
        for entity in found:
            self._track(entity)
        return found


class SqlAccountRepository(_Repository[Account]):
    model = Account

    def get_by_email(self, email: str) -> Account | None:
        found = self._all(select(Account).where(Account.email == email))
        return found[0] if found else None

    def list_staff(self, agency_id: UUID) -> Sequence[Account]:
        return self._all(
            select(Account).where(Account.agency_id == agency_id).order_by(Account.display_name)
        )

    def count_residents(self) -> int:
        statement = select(func.count()).where(Account.kind == AccountKind.RESIDENT)
        return self.session.scalar(statement) or 0


class SqlAgencyRepository(_Repository[Agency]):
    model = Agency

    def list(self) -> Sequence[Agency]:
        return self._all(select(Agency).order_by(Agency.name))


class SqlCameraRepository(_Repository[Camera]):
    model = Camera

    def list_by_owner(self, owner_id: UUID) -> Sequence[Camera]:
        return self._all(
            select(Camera).where(Camera.owner_id == owner_id).order_by(Camera.created_at)
        )

    def count(self, *, opted_in: bool | None = None) -> int:
        statement = select(func.count()).select_from(Camera)
        if opted_in is not None:
            statement = statement.where(Camera.opted_in.is_(opted_in))
        return self.session.scalar(statement) or 0


class SqlSessionRepository(_Repository[Session]):
    model = Session

    def list_open(self, account_id: UUID) -> Sequence[Session]:
        return self._all(
            select(Session)
            .where(Session.account_id == account_id, Session.ended_at.is_(None))
            .order_by(Session.created_at.desc())
        )


class SqlApiTokenRepository(_Repository[ApiToken]):
    model = ApiToken

    def list_for_account(self, account_id: UUID) -> Sequence[ApiToken]:
        return self._all(
            select(ApiToken).where(ApiToken.account_id == account_id)
            .order_by(ApiToken.created_at.desc())
        )


class SqlDeviceTokenRepository(_Repository[DeviceToken]):
    model = DeviceToken

    def list_for_camera(self, camera_id: UUID) -> Sequence[DeviceToken]:
        return self._all(
            select(DeviceToken).where(DeviceToken.camera_id == camera_id)
            .order_by(DeviceToken.created_at.desc())
        )


class SqlOneTimeTokenRepository(_Repository[OneTimeToken]):
    model = OneTimeToken

    def list_open(self, account_id: UUID) -> Sequence[OneTimeToken]:
        return self._all(
            select(OneTimeToken).where(
                OneTimeToken.account_id == account_id, OneTimeToken.used_at.is_(None)
            )
        )


class SqlRecoveryCodeRepository(_Repository[RecoveryCode]):
    model = RecoveryCode

    def list_unused(self, account_id: UUID) -> Sequence[RecoveryCode]:
        return self._all(
            select(RecoveryCode).where(
                RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None)
            )
        )
