"""What the public log may say: readable leaves for public-interest events, commitments
for everything about a resident, and commitments to the people behind staff actions.

A public-interest event is something an agency, its staff (as a role) or a platform admin
did: requests and their review, deliveries in aggregate, evidence received, viewed,
exported (and exports refused), re-shared (or refused) and purged, agencies, roles, the
job queue's failures.  Its leaf stays readable, except that every account id in it (the
actor, and the account fields listed below) is replaced by a commitment, so a staff
member's actions cannot be linked to each other or to a name from the log, while their
agency and oversight can open them.

Every other event is about a resident (sign-ins, cameras, clips, answers, consents) and
its leaf is only a commitment: ``SHA-256(tag || secret || event)``, where the secret is
32 random bytes kept off the public log.  A commitment reveals nothing about the event
(the secret is never reused) and is indistinguishable from the random padding that hides
how many resident events a batch holds.  The holder of the secret can open it: show the
event, and anyone can check that it is the one the log committed to.  Deleting the
secret makes the commitment unopenable for ever.

Unknown kinds are treated as resident events: a new event type is private until someone
decides otherwise here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

__all__ = [
    "COMMITMENT_TAG",
    "IDENTITY_TAG",
    "LEAF_VERSION",
    "PUBLIC_KINDS",
    "SECRET_SIZE",
    "SUBJECT_FIELDS",
    "batch_time",
    "commit_event",
    "commit_identity",
    "commitment_leaf",
    "is_public",
    "opens",
    "padding_count",
    "subject_field",
    "window_start",
]

LEAF_VERSION = 2
SECRET_SIZE = 32
COMMITMENT_TAG = b"porchlight.commitment.v1\x00"
IDENTITY_TAG = b"porchlight.identity.v1\x00"

# kind -> payload fields committed like the actor: account ids, and values that would
# link a public leaf to a resident's other entries.
PUBLIC_KINDS: Mapping[str, tuple[str, ...]] = {
    "request.created": (),
    "request.refused": (),
    "request.approved": (),
    "request.rejected": (),
    "request.withdrawn": (),
    "request.closed": (),
    "request.case_closed": (),
    "request.delivered": (),
    "request.reach_previewed": (),
    "request.reach_refused": (),
    # the clip's and the copy's SHA-256 would link two consents to one clip: committed,
    # openable by the agency that holds the copy
    "evidence.received": ("source_sha256", "sha256"),
    "evidence.viewed": (),
    "evidence.purged": (),
    "evidence.exported": (),
    "evidence.export_refused": (),
    "evidence.hold_set": (),
    "evidence.hold_released": (),
    "evidence.reshared": (),
    "evidence.reshare_refused": (),
    # legal demands: what platform admins and agencies did; counts, never a resident
    # (each owner's notice is a resident event: legal_demand.owner_notified)
    "legal_demand.recorded": (),
    "legal_demand.fulfilled": (),
    "legal_demand.withdrawn": (),
    "legal_demand.documented": (),
    "legal_demand.notice_sent": (),
    "evidence.deletion_answered": (),  # ids and the answer's code; never the consent
    "agency.created": (),
    "agency.verified": (),
    "staff.role_changed": ("account_id",),
    "account.disabled": ("account_id",),  # an admin's act, on a committed account
    "job.died": (),
    "job.retried": (),
    # the feed: an agency's public-safety post and platform admins' moderation are public
    # interest; the post, comment and report ids are committed (a neighbour who saw the
    # post could otherwise link it to the resident's own, committed, entries)
    "post.public_safety_published": ("post_id",),
    "post.removed": ("post_id", "comment_id"),
    "post.restored": ("post_id", "comment_id"),
    "post.report_dismissed": ("report_id", "post_id"),
}

# A resident event's subject (who may open it) is the account its payload names (a
# failed sign-in, a delivery's resident, a clip's owner), else its actor.
SUBJECT_FIELDS = ("account_id", "resident_id", "owner_id")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def is_public(kind: str) -> bool:
    return kind in PUBLIC_KINDS


def subject_field(payload: Mapping[str, object]) -> str | None:
    """The payload field naming the account an event is about (None: its actor)."""
    return next((name for name in SUBJECT_FIELDS if payload.get(name) is not None), None)


def commit_event(secret: bytes, event: bytes) -> str:
    """The hex commitment to one event's canonical bytes."""
    return hashlib.sha256(COMMITMENT_TAG + secret + event).hexdigest()


def commit_identity(secret: bytes, value: str) -> str:
    """The hex commitment to an account id (or another linking value) in a public leaf."""
    return hashlib.sha256(IDENTITY_TAG + secret + value.encode("ascii")).hexdigest()


def opens(commitment: str, secret: bytes, event: bytes) -> bool:
    """Whether ``secret`` and ``event`` open ``commitment`` (constant-time compare)."""
    return hmac.compare_digest(commit_event(secret, event), commitment)


def commitment_leaf(commitment: str, time: str) -> bytes:
    """A commitment leaf: the same shape for a real event and for padding.  Canonical JSON
    (sorted keys, no spaces), written out directly: both values are plain ASCII codes."""
    if not (_HEX64.fullmatch(commitment) and _TIME.fullmatch(time)):
        raise ValueError("a commitment leaf holds a hex digest and a batch time")
    return b'{"commitment":"%s","time":"%s","v":%d}' % (
        commitment.encode("ascii"), time.encode("ascii"), LEAF_VERSION)


def window_start(moment: datetime, window: timedelta) -> datetime:
    """The start of the window ``moment`` falls in (windows count from the epoch)."""
    width = window.total_seconds()
    return datetime.fromtimestamp(int(moment.timestamp() // width * width), tz=UTC)


def batch_time(moment: datetime, window: timedelta) -> str:
    """The start of the window ``moment`` falls in, to the second, e.g.
    ``2026-12-04T17:01:00Z``: the only time a leaf publishes."""
    return window_start(moment, window).strftime("%Y-%m-%dT%H:%M:%SZ")


def padding_count(real: int, quantum: int) -> int:
    """How many random commitments to add so a batch holds a multiple of ``quantum``
    commitments, at least one quantum: 0 and 1..quantum real ones look the same."""
    total = max(1, -(-real // quantum)) * quantum
    return total - real
