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

from porchlight.accounts.domain.auth import TokenIssued
from porchlight.footage.domain.clips import ClipKeyShredded
from porchlight.jobs.domain.jobs import JobSpec
from porchlight.kernel.domain.events import DomainEvent
from porchlight.requests.domain.consent import ConsentGranted, DeliveryCreated
from porchlight.requests.domain.requests import RequestApproved

EventHandler = Callable[[DomainEvent], JobSpec | None]


def derive_evidence(event: DomainEvent) -> JobSpec:
    assert isinstance(event, ConsentGranted)
    return JobSpec("evidence.derive", {"consent_id": str(event.consent_id)},
                   key=f"evidence.derive:{event.consent_id}")


def deliver_request(event: DomainEvent) -> JobSpec:
    assert isinstance(event, RequestApproved)
    return JobSpec("request.deliver", {"request_id": str(event.request_id)},
                   key=f"request.deliver:{event.request_id}")


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


HANDLERS: Mapping[type[DomainEvent], Sequence[EventHandler]] = {
    ConsentGranted: (derive_evidence,),
    RequestApproved: (deliver_request,),
    DeliveryCreated: (notify_resident,),
    TokenIssued: (mail_link,),
    ClipKeyShredded: (purge_clip,),
}


class MessageBus:
    def __init__(self, handlers: Mapping[type[DomainEvent], Sequence[EventHandler]] = HANDLERS
                 ) -> None:
        self.handlers = handlers

    def jobs_for(self, events: Iterable[DomainEvent]) -> list[JobSpec]:
        specs = []
        for event in events:
            for handler in self.handlers.get(type(event), ()):
                spec = handler(event)
                if spec is not None:
                    specs.append(spec)
        return specs
