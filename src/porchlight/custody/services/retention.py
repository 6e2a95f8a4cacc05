"""Retention on the agency's side: evidence is deleted when the retention its agency
committed to in the request runs out (capped by the deployment's maximum when the
request was made), and its owner is told.

The sweep (the worker, every 10 minutes) purges each expired item in a short transaction
of its own: the key is destroyed and ``evidence.purged`` recorded with it, so the copy
is unreadable from that commit. The event calls for two jobs (kernel.services.messagebus):
``evidence.delete`` deletes the encrypted object, ``mail.evidence_purged`` tells the
resident whose clip it was. Each is idempotent; a crash anywhere is finished by a retry.

Re-shared copies (custody.domain.reshare) are purged at their own date, which never
passes their parent's promised one; no hold covers them.

A legal hold on the item's case keeps it (custody.domain.holds): setting, releasing or
ending a hold moves the item's deletion date, and the sweep reads the holds again before
it purges, so an item whose date a hold pushed later (one copied while the hold was being
set, say) gets its later date instead of being purged.
"""

from __future__ import annotations

from uuid import UUID

from porchlight.accounts.services.credentials import digest
from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.domain.holds import deletion_date
from porchlight.kernel.services.ports import FootageStore, Mailer, OutgoingMail, UnitOfWork

BATCH = 100


def expire_due(uow: UnitOfWork) -> int:
    """Purge every evidence item past its retention; how many."""
    purged, seen = 0, set()
    while True:
        with uow.reading():
            batch = [i.id for i in uow.evidence.expired(uow.clock.now(), BATCH)
                     if i.id not in seen]
        if not batch:
            return purged
        for evidence_id in batch:
            seen.add(evidence_id)
            with uow:
                item = uow.evidence.get(evidence_id)
                if item is None or item.purged_at is not None:
                    continue
                uow.lock(item)  # two sweeps at once: one purge, one audit event
                if _postponed(uow, item):
                    uow.commit()
                    continue
                item.purge(now=uow.clock.now(), reason="retention", actor_id=None)
                uow.commit()
                purged += 1


def _postponed(uow: UnitOfWork, item: EvidenceItem) -> bool:
    """Whether the item's case holds keep it past now; if so, it gets their date. Never a
    re-shared copy: a hold on the case does not cover the copies its agency gave away."""
    if item.is_copy or item.request_id is None:  # a legal demand's item: no case, no hold
        return False
    request = uow.requests.get(item.request_id)
    due = deletion_date(item.received_at, request.retention_days,
                        uow.holds.for_request(item.request_id))
    if due <= uow.clock.now():
        return False
    item.expires_at = due
    return True


def delete_object(uow: UnitOfWork, store: FootageStore, evidence_id: UUID) -> bool:
    """The ``evidence.delete`` job: delete a purged item's object; whether it did."""
    with uow.reading():
        item = uow.evidence.get(evidence_id)
    if item is None or item.purged_at is None:
        return False  # never the object of a live item
    store.delete(item.object_key)
    return True


def tell_owner(uow: UnitOfWork, mailer: Mailer, evidence_id: UUID) -> bool:
    """The ``mail.evidence_purged`` job: tell the resident whose clip it was that the
    agency's copy is gone; whether a mail went."""
    with uow.reading():
        item = uow.evidence.get(evidence_id)
        if item is None or item.consent_id is None:
            return False  # a legal demand's item: its owner was told of the demand itself
        consent = uow.consents.get(item.consent_id)
        delivery = uow.deliveries.get(consent.delivery_id) if consent is not None else None
        owner = uow.accounts.get(delivery.resident_id) if delivery is not None else None
        agency = uow.agencies.get(item.agency_id) if item is not None else None
        request = uow.requests.get(item.request_id) if item is not None else None
    if owner is None or owner.is_disabled or agency is None or request is None:
        return False
    if item.deletion_answer == "deleted":
        mailer.send(OutgoingMail(
            to=owner.email, subject=f"{agency.name} deleted your footage, as you asked",
            key=f"evidence-purged.{digest(str(evidence_id))[:32]}",
            body=f"You asked for the footage you gave for request {request.case_number} to "
                 f"be deleted. {agency.name} answered: it deleted its copy, and Porchlight "
                 "destroyed its key and removes the file. Your own clip is not affected."
                 "\n\nYou can see where all your footage is on the \"Where is my footage\" "
                 "page."))
        return True
    if item.is_copy:
        mailer.send(OutgoingMail(
            to=owner.email, subject=f"{agency.name} deleted its copy of your footage",
            key=f"evidence-purged.{digest(str(evidence_id))[:32]}",
            body=f"The copy of your camera footage that {agency.name} was given by another "
                 f"agency (request {request.case_number}) reached its deletion date, and "
                 "Porchlight deleted it: its key is destroyed and the file removed. Your own "
                 "clip is not affected.\n\nYou can see every request you answered, and who "
                 "shared your footage on, in your inbox."))
        return True
    mailer.send(OutgoingMail(
        to=owner.email, subject=f"{agency.name} deleted its copy of your footage",
        key=f"evidence-purged.{digest(str(evidence_id))[:32]}",
        body=f"The copy of your camera footage that {agency.name} received for its request "
             f"{request.case_number} reached the end of the {request.retention_days} days "
             "it promised to keep it (counted again from the end of any legal hold on the "
             "case), and Porchlight deleted it: its key is destroyed and "
             "the file removed. Your own clip is not affected.\n\nYou can see every request "
             "you answered in your inbox."))
    return True
