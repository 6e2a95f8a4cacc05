"""The officer's reach preview: how many opted-in cameras a circle reaches, before sending.

The rounding and the limits are in ``porchlight.domain.reach``. The search reads in a
snapshot (no write lock); then one short write checks the caller's recent previews and
records this one, or the refusal, as an audit event.
"""

from __future__ import annotations

from porchlight.domain.accounts import Account
from porchlight.domain.errors import TooManyRequests
from porchlight.domain.geo import LatLon
from porchlight.domain.policies import Actor, require_agency_staff
from porchlight.domain.reach import (
    Reach,
    ReachPreviewed,
    ReachPreviewRefused,
    check_preview_radius,
    rounded_reach,
)
from porchlight.domain.requests import MIN_RADIUS_M, ScopePolicy, check_agency
from porchlight.services.ports import UnitOfWork


def preview_reach(uow: UnitOfWork, policy: ScopePolicy, actor: Actor, centre: LatLon,
                  radius_m: int) -> Reach:
    """The rounded number of opted-in cameras within ``radius_m`` of ``centre``."""
    with uow.reading():
        staff = require_agency_staff(actor)
        check_agency(uow.agencies.get(staff.agency_id), policy)
        check_preview_radius(radius_m, MIN_RADIUS_M, policy.supervisor_max_radius_m)
        found = len(uow.cameras.within(centre, radius_m, opted_in_only=True))
    reach = rounded_reach(found, policy.min_group_size)
    with uow:
        _within_rate(uow, policy, staff)
        uow.record(ReachPreviewed(actor_id=staff.id, agency_id=staff.agency_id,
                                  role=_role(staff), radius_m=radius_m, cameras=reach.code))
        uow.commit()
    return reach


def _within_rate(uow: UnitOfWork, policy: ScopePolicy, staff: Account) -> None:
    since = uow.clock.now() - policy.reach_preview_window
    if uow.audit_events.count_recent(staff.id, ReachPreviewed.kind, since) < (
            policy.reach_previews):
        return
    uow.record(ReachPreviewRefused(actor_id=staff.id, agency_id=staff.agency_id,
                                   role=_role(staff), reason="rate_limited"))
    uow.commit()
    minutes = int(policy.reach_preview_window.total_seconds() // 60)
    raise TooManyRequests(f"at most {policy.reach_previews} previews in {minutes} minutes; "
                          "try again in a few minutes (the request itself can still be sent)")


def _role(staff: Account) -> str:
    return staff.staff_role.value if staff.staff_role is not None else "staff"
