"""What each kind of job does: one short function per kind, each idempotent.

A handler gets the job's arguments and a progress callback; it opens its own units of
work. Running it again after it finished, or after a crash half-way, is harmless: each
one first looks at what is already done (the evidence items that exist, the residents
already reached, the delivery already marked notified).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from porchlight.accounts.services import registration
from porchlight.accounts.services.credentials import Security
from porchlight.audit.services.log import SequenceResult
from porchlight.audit.services.witness import Collected
from porchlight.custody.services import demands, evidence, reshare
from porchlight.custody.services import retention as custody_retention
from porchlight.feed.services import posting
from porchlight.feed.services import retention as feed_retention
from porchlight.footage.services import retention
from porchlight.footage.services.library import Footage
from porchlight.jobs.domain.jobs import JobSpec
from porchlight.jobs.services.jobs import Handler, Progress
from porchlight.kernel.services.messagebus import sequence_audit_log
from porchlight.kernel.services.ports import UnitOfWork
from porchlight.redaction.services import copies as redaction
from porchlight.redaction.services.copies import RedactionKit
from porchlight.redaction.services.ports import Redactor
from porchlight.requests.services import video_requests
from porchlight.requests.services.video_requests import RequestsKit


class RedactionUnavailable(Exception):
    """A redaction was asked for where no engine is configured."""


class WitnessUnavailable(Exception):
    """A witness did not cosign the newest checkpoint (down, or it refused)."""


@dataclass(frozen=True)
class JobKit:
    """What the handlers need, built lazily (the web app may never derive evidence)."""

    uow: Callable[[], UnitOfWork]
    footage: Callable[[], Footage]
    requests: RequestsKit
    security: Security
    workdir: Path
    sequence: Callable[[], SequenceResult]  # one audit sequencing pass
    # asks the configured witnesses to cosign the newest checkpoint; None without witnesses
    collect_cosignatures: Callable[[], list[Collected]] | None
    sequence_every: timedelta
    checkpoint_every: timedelta
    redaction: Callable[[], RedactionKit] | None = None  # None: this deployment has no engine
    # the face-blurring engine, built on first use (feed posts' media)
    redactor: Callable[[], Redactor] | None = None

    def feed(self) -> posting.FeedKit:
        if self.redactor is None:
            raise RedactionUnavailable("no redaction engine is configured")
        return posting.FeedKit(self.footage(), self.redactor, self.workdir / "posts")


def handlers(kit: JobKit) -> dict[str, Handler]:
    def derive_evidence(args: dict[str, Any], progress: Progress) -> None:
        evidence.derive_for_consent(kit.uow(), kit.footage(), UUID(args["consent_id"]),
                                    kit.workdir / "evidence", progress=progress)

    def deliver_request(args: dict[str, Any], progress: Progress) -> None:
        video_requests.deliver(kit.uow(), kit.requests, UUID(args["request_id"]))

    def request_notice(args: dict[str, Any], progress: Progress) -> None:
        video_requests.send_request_notice(kit.uow(), kit.requests, UUID(args["delivery_id"]))

    def link(args: dict[str, Any], progress: Progress) -> None:
        registration.send_link(kit.uow(), kit.security, UUID(args["token_id"]))

    def signup_taken(args: dict[str, Any], progress: Progress) -> None:
        registration.send_signup_taken(kit.uow(), kit.security, UUID(args["account_id"]),
                                       key=f"signup-taken.{args['account_id']}.{args['day']}")

    def purge_clip(args: dict[str, Any], progress: Progress) -> None:
        actor = UUID(args["actor_id"]) if args.get("actor_id") else None
        retention.finish_purge(kit.uow(), kit.footage().store, UUID(args["clip_id"]),
                               reason=args["reason"], actor=actor)

    def sequence(args: dict[str, Any], progress: Progress) -> None:
        result = kit.sequence()
        if result.checkpoint is not None and kit.collect_cosignatures is not None:
            with kit.uow() as uow:  # a new checkpoint: the witnesses should cosign it
                size = result.checkpoint.size
                uow.enqueue(JobSpec("audit.witness", {"size": size},
                                    key=f"audit.witness:{size}"))
                uow.commit()
        if result.sequenced and result.checkpoint is None:
            # leaves wait for a checkpoint that was not due yet: come back when it is
            with kit.uow() as uow:
                uow.enqueue(sequence_audit_log(uow.clock.now() + kit.checkpoint_every,
                                               kit.sequence_every))
                uow.commit()

    def delete_evidence(args: dict[str, Any], progress: Progress) -> None:
        custody_retention.delete_object(kit.uow(), kit.footage().store,
                                        UUID(args["evidence_id"]))

    def evidence_purged(args: dict[str, Any], progress: Progress) -> None:
        custody_retention.tell_owner(kit.uow(), kit.security.mailer, UUID(args["evidence_id"]))

    def reshare_evidence(args: dict[str, Any], progress: Progress) -> None:
        reshare.make_copy(kit.uow(), kit.footage(), UUID(args["share_id"]),
                          kit.workdir / "evidence")

    def evidence_reshared(args: dict[str, Any], progress: Progress) -> None:
        reshare.tell_owner(kit.uow(), kit.security.mailer, kit.security.base_url,
                           UUID(args["share_id"]))

    def deliver_demand(args: dict[str, Any], progress: Progress) -> None:
        demands.deliver(kit.uow(), kit.footage(), UUID(args["demand_id"]),
                        kit.workdir / "evidence")

    def demand_notice(args: dict[str, Any], progress: Progress) -> None:
        demands.tell_owner(kit.uow(), kit.security.mailer, kit.security.base_url,
                           UUID(args["demand_id"]), UUID(args["owner_id"]))

    def make_redacted_copy(args: dict[str, Any], progress: Progress) -> None:
        if kit.redaction is None:
            raise RedactionUnavailable("no redaction engine is configured")
        redaction.make(kit.uow(), kit.redaction(), UUID(args["copy_id"]), progress=progress)

    def delete_redacted_copy(args: dict[str, Any], progress: Progress) -> None:
        redaction.delete_bytes(kit.uow(), kit.footage(), UUID(args["copy_id"]))

    def witness(args: dict[str, Any], progress: Progress) -> None:
        assert kit.collect_cosignatures is not None
        refused = [c for c in kit.collect_cosignatures() if not c.ok]
        if refused:  # retried with backoff; dead letters show a witness that stays down
            raise WitnessUnavailable(", ".join(c.witness for c in refused))

    def prepare_post_media(args: dict[str, Any], progress: Progress) -> None:
        posting.prepare_media(kit.uow(), kit.feed(), UUID(args["post_id"]), progress)

    def purge_post(args: dict[str, Any], progress: Progress) -> None:
        feed_retention.finish_purge(kit.uow(), kit.footage().store, UUID(args["post_id"]))

    def feed_clip_gone(args: dict[str, Any], progress: Progress) -> None:
        feed_retention.source_gone(kit.uow(), UUID(args["clip_id"]))

    return {"evidence.derive": derive_evidence,
            "post.prepare_media": prepare_post_media, "post.purge": purge_post,
            "feed.clip_gone": feed_clip_gone, "clip.purge": purge_clip,
            "audit.witness": witness,
            "evidence.delete": delete_evidence, "mail.evidence_purged": evidence_purged,
            "evidence.reshare": reshare_evidence, "mail.evidence_reshared": evidence_reshared,
            "evidence.legal_demand": deliver_demand, "mail.legal_demand_notice": demand_notice,
            "audit.sequence": sequence,
            "redaction.make": make_redacted_copy, "redaction.delete": delete_redacted_copy,
            "request.deliver": deliver_request, "mail.request_notice": request_notice,
            "mail.link": link, "mail.signup_taken": signup_taken}
