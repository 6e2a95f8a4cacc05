"""The officer's reach preview: how many opted-in cameras a circle reaches, before sending.

The rounding and the limits are in ``porchlight.requests.domain.reach``. The search reads in a
snapshot (no write lock); then one short write checks the caller's recent previews and
records this one, or the refusal, as an audit event.
"""

from __future__ import annotations

from dataclasses import replace

from porchlight.accounts.domain.accounts import Account
from porchlight.kernel.domain.errors import TooManyRequests
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import Actor, require_agency_staff
from porchlight.kernel.services.ports import UnitOfWork
from porchlight.requests.domain.reach import (
    Reach,
    ReachPreviewed,
    ReachPreviewRefused,
    check_preview_radius,
    preview_radius,
    rounded_reach,
    snap_centre,
)
from porchlight.requests.domain.requests import MIN_RADIUS_M, ScopePolicy, check_agency


def preview_reach(uow: UnitOfWork, policy: ScopePolicy, actor: Actor, centre: LatLon,
                  radius_m: int) -> Reach:
    """The rounded number of opted-in cameras about there: within ``radius_m`` rounded up
    to 100 m of the centre of the ~200 m grid square ``centre`` is in (requests.domain.reach)."""
    cap = policy.supervisor_max_radius_m
    with uow.reading():
        staff = require_agency_staff(actor)
        check_agency(uow.agencies.get(staff.agency_id), policy)
        check_preview_radius(radius_m, MIN_RADIUS_M, cap)
        counted = preview_radius(radius_m, cap)
        found = len(uow.cameras.within(snap_centre(centre), counted, opted_in_only=True))
        colleagues = [person.id for person in uow.accounts.list_staff(staff.agency_id)]
    reach = replace(rounded_reach(found, policy.min_group_size), radius_m=counted)
    with uow:
        _within_rate(uow, policy, staff, colleagues)
        uow.record(ReachPreviewed(actor_id=staff.id, agency_id=staff.agency_id,
                                  role=_role(staff), radius_m=counted, cameras=reach.code))
        uow.commit()
    return reach


def _within_rate(uow: UnitOfWork, policy: ScopePolicy, staff: Account,
                 colleagues: list) -> None:
    """Each account, and each agency as a whole, may preview only so often."""
    now = uow.clock.now()
    mine = uow.audit_events.count_recent([staff.id], ReachPreviewed.kind,
                                         now - policy.reach_preview_window)
    agency = uow.audit_events.count_recent(colleagues, ReachPreviewed.kind,
                                           now - policy.reach_agency_window)
    if mine < policy.reach_previews and agency < policy.reach_agency_previews:
        return
    uow.record(ReachPreviewRefused(actor_id=staff.id, agency_id=staff.agency_id,
                                   role=_role(staff), reason="rate_limited"))
    uow.commit()
    if mine >= policy.reach_previews:
        minutes = int(policy.reach_preview_window.total_seconds() // 60)
        raise TooManyRequests(f"at most {policy.reach_previews} previews in {minutes} "
                              "minutes; try again in a few minutes (the request itself can "
                              "still be sent)")
    raise TooManyRequests(f"your agency has used its {policy.reach_agency_previews} previews "
                          "for today; the request itself can still be sent")


def _role(staff: Account) -> str:
    return staff.staff_role.value if staff.staff_role is not None else "staff"
