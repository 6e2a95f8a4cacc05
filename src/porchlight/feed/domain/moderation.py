"""Comments, reports and moderation on the feed.

Residents comment on posts they can see. Anyone signed in may report a post or a comment
with a reason. Platform admins work through the queue of open reports: they remove a
post or comment with a reason the author is shown, restore what they removed, or
dismiss a report that breaks no rule. Removal hides; it does not delete (the post still
expires on its date, and its author still sees it, with the reason).

The state machine of a post or comment under moderation::

    visible --remove(reason)--> removed --restore--> visible

Reports are open until an admin acts on their target (removed or dismissed).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import DomainEvent

COMMENT_MAX = 2000
NOTE_MAX = 1000

# What the posting page says: the rules a report or a removal names.
RULES = (
    ("faces", "No posting people's faces to identify them. Faces of bystanders are blurred "
              "by default; do not turn blurring off to single someone out."),
    ("profiling", "No racial or other profiling: describe what happened, not who someone "
                  "looks like."),
    ("personal_data", "No personal data: no names, addresses, licence plates of private "
                      "people, phone numbers or other details that identify someone."),
)


class Reason(enum.StrEnum):
    FACES = "faces"
    PROFILING = "profiling"
    PERSONAL_DATA = "personal_data"
    HARASSMENT = "harassment"
    SPAM = "spam"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    Reason.FACES: "Shows people's faces to identify them",
    Reason.PROFILING: "Racial or other profiling",
    Reason.PERSONAL_DATA: "Personal data",
    Reason.HARASSMENT: "Harassment or threats",
    Reason.SPAM: "Spam or advertising",
    Reason.OTHER: "Something else",
}


class Resolution(enum.StrEnum):
    REMOVED = "removed"  # the target was removed
    DISMISSED = "dismissed"  # an admin found no rule broken


# ---- events ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CommentPosted(DomainEvent):
    kind: ClassVar[str] = "comment.posted"
    comment_id: UUID
    post_id: UUID


@dataclass(frozen=True, kw_only=True)
class ContentReported(DomainEvent):
    kind: ClassVar[str] = "post.reported"
    report_id: UUID
    post_id: UUID
    comment_id: UUID | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class ContentRemoved(DomainEvent):
    """A platform admin removed a post or a comment: a public-interest event."""

    kind: ClassVar[str] = "post.removed"
    post_id: UUID
    comment_id: UUID | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class ContentRestored(DomainEvent):
    kind: ClassVar[str] = "post.restored"
    post_id: UUID
    comment_id: UUID | None


@dataclass(frozen=True, kw_only=True)
class ReportDismissed(DomainEvent):
    kind: ClassVar[str] = "post.report_dismissed"
    report_id: UUID
    post_id: UUID


# ---- rules -----------------------------------------------------------------------------

# C0 controls (NUL included) and DEL, C1 controls, and the bidi embedding, override and
# isolate characters, which can make a title or a comment read differently from what it
# says (U+202A-U+202E, U+2066-U+2069). Newlines and tabs stay in bodies.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROLS_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str | None, *, multiline: bool = True) -> str:
    """``text`` without control and bidi formatting characters; in a body (``multiline``)
    line breaks (``\r\n`` and ``\r`` become ``\n``) and tabs are kept."""
    text = text or ""
    if multiline:
        return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROLS_ONE_LINE.sub("", text)


def clean_note(text: str | None, *, field: str = "note", required: bool = False) -> str:
    text = strip_controls(text).strip()
    if len(text) > NOTE_MAX:
        raise ValidationFailed(f"use at most {NOTE_MAX} characters", field=field)
    if required and len(text) < 5:
        raise ValidationFailed("say in a few words why (the author is shown it)", field=field)
    return text


class Removable(Entity):
    """What posts and comments share: removal by an admin with a reason, and restoring."""

    id: UUID
    removed_at: datetime | None
    removed_by: UUID | None
    removed_reason: str | None
    removed_note: str | None

    def _target(self) -> tuple[UUID, UUID | None]:
        """(post id, comment id) the moderation event names: a post names itself."""
        return self.id, None

    def remove(self, *, admin_id: UUID | None, reason: Reason, note: str, now: datetime
               ) -> None:
        if self.removed_at is not None:
            raise Conflict("this is already removed")
        reason, note = Reason(reason), clean_note(note, required=True)  # check, then change
        self.removed_at, self.removed_by = now, admin_id
        self.removed_reason, self.removed_note = reason.value, note
        post_id, comment_id = self._target()
        self.record(ContentRemoved(actor_id=admin_id, post_id=post_id, comment_id=comment_id,
                                   reason=self.removed_reason))

    def restore(self, *, admin_id: UUID | None) -> None:
        if self.removed_at is None:
            raise Conflict("this is not removed")
        self.removed_at = self.removed_by = self.removed_reason = self.removed_note = None
        post_id, comment_id = self._target()
        self.record(ContentRestored(actor_id=admin_id, post_id=post_id,
                                    comment_id=comment_id))


@dataclass(eq=False)
class Comment(Removable):
    id: UUID
    post_id: UUID
    author_id: UUID
    body: str
    created_at: datetime
    removed_at: datetime | None = None
    removed_by: UUID | None = None
    removed_reason: str | None = None
    removed_note: str | None = None

    @classmethod
    def write(cls, *, comment_id: UUID, post_id: UUID, author_id: UUID, body: str,
              now: datetime) -> Comment:
        body = strip_controls(body).strip()
        if not 1 <= len(body) <= COMMENT_MAX:
            raise ValidationFailed(f"a comment is 1 to {COMMENT_MAX} characters", field="body")
        comment = cls(id=comment_id, post_id=post_id, author_id=author_id, body=body,
                      created_at=now)
        comment.record(CommentPosted(actor_id=author_id, comment_id=comment_id,
                                     post_id=post_id))
        return comment

    def _target(self) -> tuple[UUID, UUID | None]:
        return self.post_id, self.id


@dataclass(eq=False)
class Report(Entity):
    id: UUID
    post_id: UUID
    comment_id: UUID | None
    reporter_id: UUID
    reason: Reason
    note: str
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: UUID | None = None
    resolution: Resolution | None = None

    @classmethod
    def file(cls, *, report_id: UUID, post_id: UUID, comment_id: UUID | None,
             reporter_id: UUID, reason: Reason, note: str, now: datetime) -> Report:
        report = cls(id=report_id, post_id=post_id, comment_id=comment_id,
                     reporter_id=reporter_id, reason=Reason(reason), note=clean_note(note),
                     created_at=now)
        report.record(ContentReported(actor_id=reporter_id, report_id=report_id,
                                      post_id=post_id, comment_id=comment_id,
                                      reason=report.reason))
        return report

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def resolve(self, *, admin_id: UUID | None, resolution: Resolution, now: datetime
                ) -> None:
        if self.resolved_at is not None:
            return
        self.resolved_at, self.resolved_by, self.resolution = now, admin_id, resolution
        if resolution is Resolution.DISMISSED:
            self.record(ReportDismissed(actor_id=admin_id, report_id=self.id,
                                        post_id=self.post_id))
