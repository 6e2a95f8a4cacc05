"""The officer's reach preview: how many opted-in cameras a circle reaches, told only as
coarsely as the disclosure rules allow.

The rule: fewer than the minimum group size (5 by default) gives no number at all, only
"fewer than 5" (which covers none); from there up the count is rounded down to a multiple
of the group size and told as the range it stands for: 7 is "5 to 9", 23 is "20 to 24".

The preview is a probe: moved around in small steps it could find where single opted-in
cameras are (a count that changes as a camera crosses the circle's edge). So the circle
must be one a request could ask for (the request minimum up to the supervisor's cap), the
agency must be one that may send requests, each preview is an audit event in the public
log (agency, role, radius and the rounded answer; never the place), and each staff
account may preview only so often (``ScopePolicy.reach_previews`` per
``reach_preview_window``). What remains is written in the README ("Video requests").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from uuid import UUID

from porchlight.domain.errors import ValidationFailed
from porchlight.domain.events import DomainEvent


@dataclass(frozen=True)
class Reach:
    at_least: int | None  # None: fewer than ``step``, and no number is told
    step: int

    @property
    def at_most(self) -> int | None:
        return None if self.at_least is None else self.at_least + self.step - 1

    @property
    def text(self) -> str:
        if self.at_least is None:
            return f"fewer than {self.step} opted-in cameras" if self.step > 1 else (
                "no opted-in cameras")
        if self.step == 1:
            return f"{self.at_least} opted-in camera{'s' if self.at_least != 1 else ''}"
        return f"{self.at_least} to {self.at_most} opted-in cameras"

    @property
    def code(self) -> str:
        """The answer as the audit log keeps it: ``under_5`` or the rounded number."""
        return f"under_{self.step}" if self.at_least is None else str(self.at_least)


def rounded_reach(count: int, group_size: int) -> Reach:
    step = max(1, group_size)
    if count < step:
        return Reach(at_least=None, step=step)
    return Reach(at_least=count - count % step, step=step)


def check_preview_radius(radius_m: int, low: int, high: int) -> None:
    if not low <= radius_m <= high:
        raise ValidationFailed(f"the radius must be {low} to {high} m, as a request's",
                               field="radius_m")


@dataclass(frozen=True, kw_only=True)
class ReachPreviewed(DomainEvent):
    kind: ClassVar[str] = "request.reach_previewed"
    agency_id: UUID
    role: str
    radius_m: int
    cameras: str  # Reach.code


@dataclass(frozen=True, kw_only=True)
class ReachPreviewRefused(DomainEvent):
    kind: ClassVar[str] = "request.reach_refused"
    agency_id: UUID
    role: str
    reason: str
