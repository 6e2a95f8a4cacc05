"""Administering people: staff roles, disabling accounts, releasing locks."""

from __future__ import annotations

from uuid import UUID

from porchlight.accounts.domain.accounts import Account, StaffRole
from porchlight.accounts.domain.agencies import Agency
from porchlight.accounts.domain.auth import unlock
from porchlight.accounts.services.signin import end_all_sessions
from porchlight.kernel.domain.errors import NotFound, ValidationFailed
from porchlight.kernel.domain.policies import (
    Actor,
    actor_id,
    require_account_admin,
    require_agency_admin,
    require_platform_admin,
)
from porchlight.kernel.services.ports import UnitOfWork


def agency_with_staff(
    uow: UnitOfWork, actor: Actor, agency_id: UUID
) -> tuple[Agency, list[Account]]:
    with uow.reading():
        require_agency_admin(actor, agency_id)
        agency = uow.agencies.get(agency_id)
        if agency is None:
            raise NotFound("no such agency")
        return agency, list(uow.accounts.list_staff(agency_id))


def list_agencies(uow: UnitOfWork, actor: Actor) -> list[Agency]:
    with uow.reading():
        require_platform_admin(actor)
        return list(uow.agencies.list())


def set_role(uow: UnitOfWork, actor: Actor, account_id: UUID, role: StaffRole) -> None:
    with uow:
        target = require_account_admin(actor, uow.accounts.get(account_id))
        if target.id == actor_id(actor) and role is not StaffRole.AGENCY_ADMIN:
            raise ValidationFailed("you cannot remove your own admin role")
        target.set_staff_role(role, actor_id=actor_id(actor))
        uow.commit()


def disable_account(uow: UnitOfWork, actor: Actor, account_id: UUID) -> None:
    """Disable at once: the account's open sessions end in the same transaction."""
    with uow:
        target = require_account_admin(actor, uow.accounts.get(account_id))
        if target.id == actor_id(actor):
            raise ValidationFailed("you cannot disable your own account")
        now = uow.clock.now()
        target.disable(now=now, actor_id=actor_id(actor))
        end_all_sessions(uow, target, now, reason="account_disabled")
        uow.commit()


def unlock_account(uow: UnitOfWork, actor: Actor, account_id: UUID) -> None:
    with uow:
        target = require_account_admin(actor, uow.accounts.get(account_id))
        if not target.is_locked:
            raise ValidationFailed("the account is not locked")
        unlock(target, actor_id=actor_id(actor), reason="admin")
        uow.commit()
