"""The message bus: what each domain event calls for, registered in one place.

A unit of work hands the bus the events it collected when it commits. For each event the
bus returns the jobs its handlers ask for; the unit of work writes them in the same
transaction as the change (an outbox: a rollback leaves none, a crash after the commit
loses none) and, after the commit, wakes the queue for the new ones. The slow work itself
(deriving evidence, delivering a request, mailing a resident) runs in a worker, in the
job handlers of ``jobs.services.handlers``.

A handler here is quick and pure: it reads the event and names the job, with a key that
makes it idempotent (the same event handled twice is the same job).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from porchlight.accounts.domain.auth import TokenIssued
from porchlight.custody.domain.demands import LegalDemandFulfilled, LegalDemandOwnerNotified
from porchlight.custody.domain.evidence import EvidencePurged
from porchlight.custody.domain.reshare import EvidenceReshared
from porchlight.feed.domain.posts import PostDrafted, PostKeyShredded
from porchlight.footage.domain.clips import ClipKeyShredded
from porchlight.jobs.domain.jobs import JobSpec
from porchlight.kernel.domain.events import DomainEvent
from porchlight.redaction.domain.copies import RedactedCopyShredded, RedactionRequested
from porchlight.requests.domain.consent import ConsentGranted, DeliveryCreated
from porchlight.requests.domain.requests import RequestApproved

EventHandler = Callable[[DomainEvent], JobSpec | None]


def evidence_job_key(consent_id: UUID) -> str:
    """The key of the job that makes a consent's evidence copies (pages show its state)."""
    return f"evidence.derive:{consent_id}"


def delivery_job_key(request_id: UUID) -> str:
    """The key of the job that delivers a request to residents."""
    return f"request.deliver:{request_id}"


def derive_evidence(event: DomainEvent) -> JobSpec:
    assert isinstance(event, ConsentGranted)
    return JobSpec("evidence.derive", {"consent_id": str(event.consent_id)},
                   key=evidence_job_key(event.consent_id))


def deliver_request(event: DomainEvent) -> JobSpec:
    assert isinstance(event, RequestApproved)
    return JobSpec("request.deliver", {"request_id": str(event.request_id)},
                   key=delivery_job_key(event.request_id))


def notify_resident(event: DomainEvent) -> JobSpec | None:
    assert isinstance(event, DeliveryCreated)
    if event.delivery_id is None:
        return None
    return JobSpec("mail.request_notice", {"delivery_id": str(event.delivery_id)},
                   key=f"mail.request_notice:{event.delivery_id}")


def mail_link(event: DomainEvent) -> JobSpec | None:
    assert isinstance(event, TokenIssued)
    if event.token_id is None:
        return None
    return JobSpec("mail.link", {"token_id": str(event.token_id)},
                   key=f"mail.link:{event.token_id}")


def purge_clip(event: DomainEvent) -> JobSpec:
    assert isinstance(event, ClipKeyShredded)
    actor = str(event.actor_id) if event.actor_id else None
    return JobSpec("clip.purge", {"clip_id": str(event.clip_id), "reason": event.reason,
                                  "actor_id": actor}, key=f"clip.purge:{event.clip_id}")


def delete_evidence(event: DomainEvent) -> JobSpec:
    assert isinstance(event, EvidencePurged)
    return JobSpec("evidence.delete", {"evidence_id": str(event.evidence_id)},
                   key=f"evidence.delete:{event.evidence_id}")


def tell_owner_evidence_purged(event: DomainEvent) -> JobSpec | None:
    """The agency's retention ran out, or it deleted the footage in answer to the owner's
    deletion request: the resident hears of it (a revocation was theirs)."""
    assert isinstance(event, EvidencePurged)
    if event.reason not in ("retention", "deletion_requested"):
        return None
    return JobSpec("mail.evidence_purged", {"evidence_id": str(event.evidence_id)},
                   key=f"mail.evidence_purged:{event.evidence_id}")


def reshare_job_key(share_id: UUID) -> str:
    """The key of the job that makes a re-shared copy (pages show its state)."""
    return f"evidence.reshare:{share_id}"


def copy_reshared_evidence(event: DomainEvent) -> JobSpec:
    assert isinstance(event, EvidenceReshared)
    return JobSpec("evidence.reshare", {"share_id": str(event.share_id)},
                   key=reshare_job_key(event.share_id))


def tell_owner_evidence_reshared(event: DomainEvent) -> JobSpec:
    """The owner hears of every re-share at once (not when the copy is made)."""
    assert isinstance(event, EvidenceReshared)
    return JobSpec("mail.evidence_reshared", {"share_id": str(event.share_id)},
                   key=f"mail.evidence_reshared:{event.share_id}")


def redaction_job_key(copy_id: UUID) -> str:
    """The key of the job that makes a redacted copy (its page shows the job's progress)."""
    return f"redaction.make:{copy_id}"


def make_redacted_copy(event: DomainEvent) -> JobSpec:
    assert isinstance(event, RedactionRequested)
    return JobSpec("redaction.make", {"copy_id": str(event.copy_id)},
                   key=redaction_job_key(event.copy_id))


def delete_redacted_copy(event: DomainEvent) -> JobSpec:
    assert isinstance(event, RedactedCopyShredded)
    return JobSpec("redaction.delete", {"copy_id": str(event.copy_id)},
                   key=f"redaction.delete:{event.copy_id}")


def demand_job_key(demand_id: UUID) -> str:
    """The key of the job that delivers a legal demand (pages show its state)."""
    return f"evidence.legal_demand:{demand_id}"


def deliver_legal_demand(event: DomainEvent) -> JobSpec:
    assert isinstance(event, LegalDemandFulfilled)
    return JobSpec("evidence.legal_demand", {"demand_id": str(event.demand_id)},
                   key=demand_job_key(event.demand_id))


def tell_owner_of_legal_demand(event: DomainEvent) -> JobSpec:
    assert isinstance(event, LegalDemandOwnerNotified)
    return JobSpec("mail.legal_demand_notice", {"demand_id": str(event.demand_id),
                                                "owner_id": str(event.owner_id)},
                   key=f"mail.legal_demand_notice:{event.demand_id}:{event.owner_id}")


def post_media_job_key(post_id: UUID) -> str:
    """The key of the job that makes a post's media (the post's page shows its state)."""
    return f"post.prepare_media:{post_id}"


def prepare_post_media(event: DomainEvent) -> JobSpec | None:
    assert isinstance(event, PostDrafted)
    if not event.with_clip:
        return None
    return JobSpec("post.prepare_media", {"post_id": str(event.post_id)},
                   key=post_media_job_key(event.post_id))


def purge_post(event: DomainEvent) -> JobSpec:
    assert isinstance(event, PostKeyShredded)
    return JobSpec("post.purge", {"post_id": str(event.post_id)},
                   key=f"post.purge:{event.post_id}:{event.media_key}")


def feed_clip_gone(event: DomainEvent) -> JobSpec:
    """A clip's key is gone: the media of posts made from it go too."""
    assert isinstance(event, ClipKeyShredded)
    return JobSpec("feed.clip_gone", {"clip_id": str(event.clip_id)},
                   key=f"feed.clip_gone:{event.clip_id}")


SEQUENCE_JOB = "audit.sequence"

HANDLERS: Mapping[type[DomainEvent], Sequence[EventHandler]] = {
    ConsentGranted: (derive_evidence,),
    RequestApproved: (deliver_request,),
    DeliveryCreated: (notify_resident,),
    TokenIssued: (mail_link,),
    ClipKeyShredded: (purge_clip, feed_clip_gone),
    PostDrafted: (prepare_post_media,),
    PostKeyShredded: (purge_post,),
    EvidencePurged: (delete_evidence, tell_owner_evidence_purged),
    EvidenceReshared: (copy_reshared_evidence, tell_owner_evidence_reshared),
    LegalDemandFulfilled: (deliver_legal_demand,),
    RedactionRequested: (make_redacted_copy,),
    RedactedCopyShredded: (delete_redacted_copy,),
    LegalDemandOwnerNotified: (tell_owner_of_legal_demand,),
}


class MessageBus:
    """Events to jobs. Every commit that wrote audit events also calls for the audit
    sequencer: one ``audit.sequence`` job per ``sequence_every`` window (the key names the
    window, so a thousand commits in it make one job), due at the window's end, so the
    log is sequenced in batches a moment after the change instead of by polling."""

    def __init__(self, handlers: Mapping[type[DomainEvent], Sequence[EventHandler]] = HANDLERS,
                 *, sequence_every: timedelta | None = None) -> None:
        self.handlers = handlers
        self.sequence_every = sequence_every
        # The sequencing job this process last saw committed: its window's later commits
        # need not write it again (the INSERT would find the key taken and add nothing).
        self._sequencing_written: str | None = None

    def jobs_for(self, events: Iterable[DomainEvent], now: datetime | None = None
                 ) -> list[JobSpec]:
        events = list(events)
        specs = []
        for event in events:
            for handler in self.handlers.get(type(event), ()):
                spec = handler(event)
                if spec is not None:
                    specs.append(spec)
        if events and self.sequence_every and now is not None:
            sequencing = sequence_audit_log(now, self.sequence_every)
            if sequencing.key != self._sequencing_written:
                specs.append(sequencing)
        return specs

    def committed(self, specs: Iterable[JobSpec]) -> None:
        """``specs`` are in the database now (written by a commit, or found there): a later
        commit in the same window leaves the sequencing job out."""
        for spec in specs:
            if spec.kind == SEQUENCE_JOB:
                self._sequencing_written = spec.key


def sequence_audit_log(now: datetime, every: timedelta) -> JobSpec:
    """The job for the window ``now`` falls in, due when the window ends (never at once:
    the end is always after ``now``)."""
    width = every.total_seconds()
    window = int(now.timestamp() // width)
    ends = datetime.fromtimestamp((window + 1) * width, tz=UTC)
    return JobSpec(SEQUENCE_JOB, {}, key=f"{SEQUENCE_JOB}:{window * width:.3f}",
                   delay=ends - now)
