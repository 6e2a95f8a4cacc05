"""Use cases for accounts and agencies (sign-in arrives with the accounts issue)."""

from __future__ import annotations

from uuid import UUID, uuid4

from porchlight.accounts.domain.accounts import Account, normalise_email
from porchlight.accounts.domain.agencies import Agency
from porchlight.accounts.services.commands import (
    AddStaff,
    CreateAgency,
    CreatePlatformAdmin,
    RegisterResident,
    VerifyAgency,
)
from porchlight.kernel.domain.errors import Conflict, NotFound
from porchlight.kernel.domain.policies import (
    Actor,
    actor_id,
    require_agency_admin,
    require_platform_admin,
)
from porchlight.kernel.services.ports import PasswordHasher, UnitOfWork


def _ensure_email_free(uow: UnitOfWork, email: str) -> None:
    if uow.accounts.get_by_email(normalise_email(email)) is not None:
        raise Conflict("an account with this e-mail address already exists")


def _hash(password: str | None, hasher: PasswordHasher | None) -> str | None:
    """Worked out before the transaction opens: the hash is slow on purpose."""
    return hasher.hash(password) if password is not None and hasher is not None else None


def register_resident(
    uow: UnitOfWork, cmd: RegisterResident, hasher: PasswordHasher | None = None
) -> UUID:
    password_hash = _hash(cmd.password, hasher)
    with uow:
        _ensure_email_free(uow, cmd.email)
        account = Account.resident(
            id=uuid4(),
            email=cmd.email,
            display_name=cmd.display_name,
            home=cmd.home,
            now=uow.clock.now(),
        )
        account.password_hash = password_hash
        uow.accounts.add(account)
        uow.commit()
        return account.id


def create_platform_admin(
    uow: UnitOfWork,
    actor: Actor,
    cmd: CreatePlatformAdmin,
    hasher: PasswordHasher | None = None,
) -> UUID:
    require_platform_admin(actor)
    password_hash = _hash(cmd.password, hasher)
    with uow:
        _ensure_email_free(uow, cmd.email)
        account = Account.platform_admin(
            id=uuid4(), email=cmd.email, display_name=cmd.display_name, now=uow.clock.now()
        )
        account.password_hash = password_hash
        uow.accounts.add(account)
        uow.commit()
        return account.id


def create_agency(uow: UnitOfWork, actor: Actor, cmd: CreateAgency) -> UUID:
    with uow:
        require_platform_admin(actor)
        agency = Agency.create(
            id=uuid4(),
            name=cmd.name,
            kind=cmd.kind,
            center=cmd.center,
            radius_m=cmd.radius_m,
            now=uow.clock.now(),
            actor_id=actor_id(actor),
        )
        uow.agencies.add(agency)
        uow.commit()
        return agency.id


def verify_agency(uow: UnitOfWork, actor: Actor, cmd: VerifyAgency) -> None:
    with uow:
        require_platform_admin(actor)
        agency = uow.agencies.get(cmd.agency_id)
        if agency is None:
            raise NotFound("no such agency")
        agency.verify(now=uow.clock.now(), actor_id=actor_id(actor))
        uow.commit()


def add_staff(
    uow: UnitOfWork, actor: Actor, cmd: AddStaff, hasher: PasswordHasher | None = None
) -> UUID:
    require_agency_admin(actor, cmd.agency_id)
    password_hash = _hash(cmd.password, hasher)
    with uow:
        if uow.agencies.get(cmd.agency_id) is None:
            raise NotFound("no such agency")
        _ensure_email_free(uow, cmd.email)
        account = Account.staff(
            id=uuid4(),
            email=cmd.email,
            display_name=cmd.display_name,
            agency_id=cmd.agency_id,
            role=cmd.role,
            now=uow.clock.now(),
            actor_id=actor_id(actor),
        )
        account.password_hash = password_hash
        uow.accounts.add(account)
        uow.commit()
        return account.id
