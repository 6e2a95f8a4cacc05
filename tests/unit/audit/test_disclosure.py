"""Every event kind is classified on purpose: public-interest or about a resident."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from uuid import UUID

import porchlight
from porchlight.audit.domain import disclosure
from porchlight.kernel.domain.events import DomainEvent

RESIDENT_KINDS = {
    "account.created", "account.locked", "account.unlocked", "consent.contact_disclosed",
    "api_token.created", "api_token.revoked", "camera.opted_in", "camera.opted_out",
    "camera.registered", "camera.retention_changed", "clip.access_denied",
    "clip.key_shredded", "clip.purged", "clip.uploaded", "clip.viewed", "consent.granted",
    "consent.revoked", "consent.deletion_requested", "delivery.created", "delivery.declined",
    "device_token.created", "device_token.revoked", "email.verified",
    "evidence.access_denied", "legal_demand.owner_notified", "mfa.disabled",
    "mfa.enrolled", "mfa.recovery_codes_issued", "password.changed", "session.ended",
    "signin.failed", "signin.succeeded", "token.issued",
    "redaction.requested", "redaction.finished", "redaction.failed", "redaction.approved",
    "redaction.shredded",
    # the feed: a resident's posts, comments and reports (and what happens to their posts)
    "post.drafted", "post.media_prepared", "post.media_failed", "post.published",
    "post.withdrawn", "post.key_shredded", "post.purged", "comment.posted", "post.reported",
    "post.media_viewed", "post.access_denied",
}
# Ids that may stand in a public leaf: requests, agencies, evidence, jobs, holds, one
# export of an item, a re-share (which is also its copy's evidence id) with the agencies
# on either end — never a person, a camera, a clip, a consent or a delivery.  Account ids
# are committed (PUBLIC_KINDS lists them).
PUBLIC_IDS = {"request_id", "agency_id", "evidence_id", "job_id", "hold_id", "export_id",
              "share_id", "from_agency_id", "to_agency_id", "demand_id", "legal_demand_id"}
# Digests of something made once for that event (an export's manifest, a reason with its
# nonce): they link to nothing else. Footage digests do, and must be committed.
FRESH_DIGESTS = {"manifest_sha256", "reason_commitment", "terms_commitment",
                 "documentation_commitment"}


def all_events() -> list[type[DomainEvent]]:
    for module in pkgutil.walk_packages(porchlight.__path__, "porchlight."):
        if ".domain" in module.name:
            importlib.import_module(module.name)
    found, stack = [], [DomainEvent]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub.__module__.startswith("porchlight."):  # not the tests' own events
                found.append(sub)
            stack.append(sub)
    return found


def test_every_kind_is_either_public_or_a_resident_event() -> None:
    kinds = {event.kind for event in all_events()}
    public = kinds & set(disclosure.PUBLIC_KINDS)
    assert kinds - public == RESIDENT_KINDS  # a new kind must be placed here on purpose
    assert not RESIDENT_KINDS & set(disclosure.PUBLIC_KINDS)


def test_public_events_name_no_person_camera_clip_or_delivery_in_the_clear() -> None:
    for event in all_events():
        if not disclosure.is_public(event.kind):
            continue
        committed = set(disclosure.PUBLIC_KINDS[event.kind])
        for field in dataclasses.fields(event):
            if field.name == "actor_id" or field.metadata.get("audit") is False:
                continue
            if field.type in ("UUID", "UUID | None", UUID) and field.name not in committed:
                assert field.name in PUBLIC_IDS, (event.kind, field.name)
            if "sha256" in field.name and field.name not in FRESH_DIGESTS:  # footage's links
                assert field.name in committed, (event.kind, field.name)
