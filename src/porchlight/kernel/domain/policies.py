"""Authorisation rules as explicit functions. Services call them; routes never decide access.

A denial about a specific object raises NotFound, so a caller cannot learn whether an
object it may not see exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from porchlight.accounts.domain.accounts import Account, AccountKind, StaffRole
from porchlight.footage.domain.cameras import Camera
from porchlight.kernel.domain.errors import NotAuthenticated, NotFound, PermissionDenied


@dataclass(frozen=True)
class SystemActor:
    """The operator at the command line, or the demo seed: trusted, and audited as no one."""

    id: None = None


SYSTEM = SystemActor()
Actor = Account | SystemActor


def actor_id(actor: Actor) -> UUID | None:
    return actor.id


def _active(actor: Actor | None) -> Actor:
    if actor is None:
        raise NotAuthenticated("sign in first")
    if isinstance(actor, Account) and actor.is_disabled:
        raise PermissionDenied("this account is disabled")
    return actor


def require_platform_admin(actor: Actor | None) -> Actor:
    actor = _active(actor)
    if isinstance(actor, SystemActor) or actor.kind is AccountKind.PLATFORM_ADMIN:
        return actor
    raise PermissionDenied("only a platform admin may do this")


def require_agency_admin(actor: Actor | None, agency_id: UUID) -> Actor:
    actor = _active(actor)
    if isinstance(actor, SystemActor) or actor.kind is AccountKind.PLATFORM_ADMIN:
        return actor
    if actor.agency_id == agency_id and actor.staff_role is StaffRole.AGENCY_ADMIN:
        return actor
    raise PermissionDenied("only an admin of this agency may do this")


def require_resident(actor: Actor | None) -> Account:
    actor = _active(actor)
    if isinstance(actor, Account) and actor.kind is AccountKind.RESIDENT:
        return actor
    raise PermissionDenied("only a resident may do this")


def require_camera_owner(actor: Actor | None, camera: Camera | None) -> Camera:
    """Only the owner may see or change a camera; anyone else is told it does not exist."""
    actor = _active(actor)
    if camera is None or not isinstance(actor, Account) or camera.owner_id != actor.id:
        raise NotFound("no such camera")
    return camera


def require_account_admin(actor: Actor | None, target: Account | None) -> Account:
    """Platform admins administer every account; an agency admin, the staff of their agency.

    A target outside the actor's reach is reported as not found.
    """
    actor = _active(actor)
    if target is None:
        raise NotFound("no such account")
    if isinstance(actor, SystemActor) or actor.kind is AccountKind.PLATFORM_ADMIN:
        return target
    if (
        actor.kind is AccountKind.STAFF
        and actor.staff_role is StaffRole.AGENCY_ADMIN
        and target.agency_id == actor.agency_id
    ):
        return target
    if actor.kind is AccountKind.STAFF and actor.staff_role is StaffRole.AGENCY_ADMIN:
        raise NotFound("no such account")
    raise PermissionDenied("only an admin may do this")


def require_staff(actor: Actor | None) -> Account:
    actor = _active(actor)
    if isinstance(actor, Account) and actor.kind is AccountKind.STAFF:
        return actor
    raise PermissionDenied("only agency staff may do this")


def is_staff_of(actor: Actor | None, agency_id: UUID) -> bool:
    """Whether the actor is an active staff account of this agency (any role)."""
    return (isinstance(actor, Account) and not actor.is_disabled
            and actor.kind is AccountKind.STAFF
            and actor.agency_id == agency_id)


def require_agency_staff(actor: Actor | None, agency_id: UUID | None = None) -> Account:
    """Staff of a verified agency; with ``agency_id``, of that agency (else 'not found')."""
    staff = require_staff(actor)
    if agency_id is not None and staff.agency_id != agency_id:
        raise NotFound("no such request")
    return staff


def require_supervisor(actor: Actor | None, agency_id: UUID,
                       doing: str = "approve or reject a request") -> Account:
    staff = require_agency_staff(actor, agency_id)
    if staff.staff_role not in (StaffRole.SUPERVISOR, StaffRole.AGENCY_ADMIN):
        raise PermissionDenied(f"only a supervisor may {doing}")
    return staff
