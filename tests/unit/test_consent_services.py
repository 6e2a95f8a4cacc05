"""Consent, revocation and evidence through the use cases, on the fakes: the disclosure a
resident read, the clips they may choose, taking consent back before and after the agency
looked, derived evidence made once per clip, and the retention every copy carries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from porchlight.custody.services import evidence
from porchlight.footage.services import retention
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from porchlight.requests.domain.consent import DeliveryStatus, SharingScope
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import (
    AskForDeletion,
    DeclineRequest,
    GrantConsent,
    RevokeConsent,
)
from tests.unit.request_setup import CLIP_SECONDS, NEXT_DOOR, Town, build_town


@pytest.fixture
def town(clock: FixedClock, tmp_path: Path) -> Town:
    made = build_town(clock, tmp_path)
    made.resident("ana", NEXT_DOOR)
    made.resident("ben", NEXT_DOOR)
    return made


@pytest.fixture
def shared(town: Town) -> tuple[UUID, UUID, list[str]]:
    """A delivered request with two of ana's clips in its window (and one before it)."""
    start = town.window_start
    town.clip("ana", start - timedelta(hours=2))
    clips = [str(town.clip("ana", start + timedelta(minutes=m))) for m in (10, 40)]
    town.clip("ben", start + timedelta(minutes=15))
    request_id = town.open_request()
    return request_id, town.delivery_of("ana", request_id), clips


def _consent(town: Town, delivery_id: UUID, clips: set[str], *, who: str = "ana",
             scope: SharingScope = SharingScope.THIS_AGENCY, sha256: str | None = None) -> UUID:
    _, shown = answers.disclosure(town.uow, town.residents[who], delivery_id)
    return answers.give_consent(town.uow, town.residents[who],
        GrantConsent(delivery_id, clip_ids=frozenset(clips),
                              scope=scope, share_contact=False,
                              disclosure_sha256=sha256 or shown.sha256))


def _nothing_shared(town: Town, delivery_id: UUID) -> None:
    assert town.uow.tables["consents"] == {}
    with town.uow.reading():
        assert town.uow.deliveries.get(delivery_id).status is DeliveryStatus.WAITING
    assert not [j for j in town.uow.woken if j.kind == "evidence.derive"]


def test_the_disclosure_offers_exactly_the_residents_clips_in_the_window(town, shared) -> None:
    _, delivery_id, clips = shared
    _, shown = answers.disclosure(town.uow, town.residents["ana"], delivery_id)
    assert [c.id for c in shown.clips] == clips
    assert shown.agency == "Metro PD" and shown.retention_days == 90


def test_consent_records_the_exact_clips_and_queues_the_evidence_job(town, shared) -> None:
    request_id, delivery_id, clips = shared
    consent_id = _consent(town, delivery_id, {clips[1]})
    with town.uow.reading():
        consent = town.uow.consents.get(consent_id)
        delivery = town.uow.deliveries.get(delivery_id)
    assert consent.clip_ids == [clips[1]] and consent.agency_id == town.agency_id
    assert consent.request_id == request_id and consent.scope == "this_agency"
    assert delivery.status is DeliveryStatus.SHARED
    assert [j.key for j in town.uow.woken if j.kind == "evidence.derive"] == [
        f"evidence.derive:{consent_id}"]
    granted = town.uow.audit[-1]
    assert granted.kind == "consent.granted" and granted.clips == 1


def test_a_stale_or_forged_disclosure_hash_is_refused(town, shared) -> None:
    _, delivery_id, clips = shared
    with pytest.raises(ValidationFailed, match="changed since you read it"):
        _consent(town, delivery_id, {clips[0]}, sha256="0" * 64)
    _nothing_shared(town, delivery_id)


def test_the_disclosure_changes_when_the_offer_does(town, shared) -> None:
    """A clip uploaded after the resident read the page is in a disclosure they did not
    read: consenting with the old hash is refused."""
    _, delivery_id, clips = shared
    _, read = answers.disclosure(town.uow, town.residents["ana"], delivery_id)
    town.clip("ana", town.window_start + timedelta(minutes=50))
    with pytest.raises(ValidationFailed):
        _consent(town, delivery_id, {clips[0]}, sha256=read.sha256)
    _nothing_shared(town, delivery_id)


@pytest.mark.parametrize("which", ["bens", "before_the_window", "unknown", "none"])
def test_only_clips_of_the_delivery_in_the_window_can_be_shared(town, shared, which) -> None:
    _, delivery_id, clips = shared
    with town.uow.reading():
        ben_clip = town.uow.clips.list_for_camera(town.cameras["ben"])[0]
        before = town.uow.clips.list_for_camera(town.cameras["ana"])[0]
    chosen = {"bens": {clips[0], str(ben_clip.id)}, "before_the_window": {str(before.id)},
              "unknown": {str(uuid4())}, "none": set()}[which]
    with pytest.raises(ValidationFailed):
        _consent(town, delivery_id, chosen)
    _nothing_shared(town, delivery_id)


def test_a_clip_purged_since_delivery_is_no_longer_offered(town, shared) -> None:
    _, delivery_id, clips = shared
    retention.purge_clip(town.uow, town.store, UUID(clips[0]), reason="owner_deleted",
                         actor=town.residents["ana"].id)
    _, shown = answers.disclosure(town.uow, town.residents["ana"], delivery_id)
    assert [c.id for c in shown.clips] == [clips[1]]
    with pytest.raises(ValidationFailed):
        _consent(town, delivery_id, {clips[0]})


def test_a_wider_scope_needs_agencies_named_in_the_request(town, shared) -> None:
    _, delivery_id, clips = shared
    with pytest.raises(ValidationFailed, match="names no other agencies"):
        _consent(town, delivery_id, {clips[0]}, scope=SharingScope.NAMED_AGENCIES)
    _nothing_shared(town, delivery_id)


def test_a_named_agency_scope_is_recorded_when_the_plan_names_one(town) -> None:
    town.clip("ana", town.window_start + timedelta(minutes=10))
    request_id = town.open_request(sharing_plan=(town.other_agency_id,))
    delivery_id = town.delivery_of("ana", request_id)
    _, shown = answers.disclosure(town.uow, town.residents["ana"], delivery_id)
    assert shown.sharing_plan == ["County Sheriff"]
    consent_id = _consent(town, delivery_id, {shown.clips[0].id},
                          scope=SharingScope.NAMED_AGENCIES)
    assert town.uow.tables["consents"][consent_id].sharing_scope is SharingScope.NAMED_AGENCIES


def test_another_resident_cannot_see_or_answer_my_delivery(town, shared) -> None:
    _, delivery_id, clips = shared
    ben = town.residents["ben"]
    with pytest.raises(NotFound):
        answers.disclosure(town.uow, ben, delivery_id)
    with pytest.raises(NotFound):
        answers.give_consent(town.uow, ben,
            GrantConsent(delivery_id, clip_ids=frozenset({clips[0]}),
                           scope=SharingScope.THIS_AGENCY, share_contact=False,
                           disclosure_sha256="0" * 64))
    with pytest.raises(NotFound):
        answers.decline(town.uow, ben, DeclineRequest(delivery_id))
    _nothing_shared(town, delivery_id)


def test_an_answered_or_closed_request_takes_no_consent(town, shared) -> None:
    request_id, delivery_id, clips = shared
    answers.decline(town.uow, town.residents["ana"], DeclineRequest(delivery_id))
    with pytest.raises(Conflict):
        _consent(town, delivery_id, {clips[0]})
    ben_delivery = town.delivery_of("ben", request_id)
    town.clock.advance(town.kit.policy.response_deadline)
    video_requests.close_due(town.uow)
    with pytest.raises(Conflict, match="closed"):
        _consent(town, ben_delivery, set(), who="ben")
    assert town.uow.tables["consents"] == {}


# ---- evidence --------------------------------------------------------------------------


def _derive(town: Town, consent_id: UUID) -> int:
    return evidence.derive_for_consent(town.uow, town.footage, consent_id,
                                       town.workdir / "work")


def test_evidence_is_derived_once_per_clip_however_often_its_job_runs(town, shared) -> None:
    _, delivery_id, clips = shared
    consent_id = _consent(town, delivery_id, set(clips))
    assert _derive(town, consent_id) == 2
    assert _derive(town, consent_id) == 0
    items = list(town.uow.tables["evidence"].values())
    assert sorted(str(i.source_clip_id) for i in items) == sorted(clips)
    assert len([k for k in town.store.objects if k.startswith("evidence/")]) == 2
    kinds = town.audit_kinds()
    assert kinds.count("evidence.received") == 2


def test_a_job_killed_half_way_finishes_only_what_is_missing(town, shared) -> None:
    _, delivery_id, clips = shared
    consent_id = _consent(town, delivery_id, set(clips))
    trim = town.footage.video.trim
    calls: list[int] = []

    def dies_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("worker killed")
        return trim(*args, **kwargs)

    town.footage.video.trim = dies_on_the_second  # type: ignore[method-assign]
    with pytest.raises(OSError):
        _derive(town, consent_id)
    assert len(town.uow.tables["evidence"]) == 1
    town.footage.video.trim = trim  # type: ignore[method-assign]
    assert _derive(town, consent_id) == 1
    assert len(town.uow.tables["evidence"]) == 2
    assert len([k for k in town.store.objects if k.startswith("evidence/")]) == 2


def test_evidence_is_trimmed_to_the_window_and_keeps_the_parents_hash(town) -> None:
    start = town.window_start
    early = town.clip("ana", start - timedelta(seconds=4))  # 12 s: 4 s before, 8 s inside
    late = town.clip("ana", start + timedelta(hours=1, seconds=-5))  # 5 s inside
    request_id = town.open_request()
    consent_id = _consent(town, town.delivery_of("ana", request_id), {str(early), str(late)})
    _derive(town, consent_id)
    assert sorted(town.footage.video.trims) == [(0.0, 5.0), (4.0, CLIP_SECONDS)]
    with town.uow.reading():
        items = {i.source_clip_id: i for i in town.uow.evidence.for_request(request_id)}
        parent = town.uow.clips.get(early)
    assert items[early].covers_from == start and items[early].source_sha256 == parent.sha256
    assert items[late].covers_to == start + timedelta(hours=1)


def test_evidence_expires_after_the_retention_the_agency_committed_to(town) -> None:
    town.clip("ana", town.window_start + timedelta(minutes=10))
    request_id = town.open_request(retention_days=30)
    delivery_id = town.delivery_of("ana", request_id)
    _, shown = answers.disclosure(town.uow, town.residents["ana"], delivery_id)
    consent_id = _consent(town, delivery_id, {shown.clips[0].id})
    town.clock.advance(timedelta(hours=3))  # the job runs later
    _derive(town, consent_id)
    [item] = town.uow.tables["evidence"].values()
    assert item.received_at == town.clock.now()
    assert item.expires_at == town.clock.now() + timedelta(days=30)


def test_a_revoked_consent_derives_nothing(town, shared) -> None:
    _, delivery_id, clips = shared
    consent_id = _consent(town, delivery_id, set(clips))
    answers.revoke_consent(town.uow, town.store, town.residents["ana"], RevokeConsent(delivery_id))
    assert _derive(town, consent_id) == 0
    assert town.uow.tables["evidence"] == {}
    assert not [k for k in town.store.objects if k.startswith("evidence/")]


def test_consent_revoked_while_its_copy_is_made_leaves_no_item_and_no_object(
        town, shared) -> None:
    _, delivery_id, clips = shared
    consent_id = _consent(town, delivery_id, {clips[0]})
    trim = town.footage.video.trim

    def revoked_meanwhile(*args, **kwargs):
        result = trim(*args, **kwargs)
        answers.revoke_consent(town.uow, town.store, town.residents["ana"],
            RevokeConsent(delivery_id))
        return result

    town.footage.video.trim = revoked_meanwhile  # type: ignore[method-assign]
    _derive(town, consent_id)
    assert town.uow.tables["evidence"] == {}
    assert not [k for k in town.store.objects if k.startswith("evidence/")]


# ---- revocation ------------------------------------------------------------------------


def test_revoking_before_the_agency_looks_destroys_the_evidence(town, shared) -> None:
    request_id, delivery_id, clips = shared
    consent_id = _consent(town, delivery_id, set(clips))
    _derive(town, consent_id)
    keys = [i.object_key for i in town.uow.tables["evidence"].values()]
    answers.revoke_consent(town.uow, town.store, town.residents["ana"], RevokeConsent(delivery_id))
    with town.uow.reading():
        consent = town.uow.consents.get(consent_id)
        items = town.uow.evidence.for_consent(consent_id)
        assert town.uow.deliveries.get(delivery_id).status is DeliveryStatus.REVOKED
    assert consent.revoked_at == town.clock.now()
    assert all(i.wrapped_key is None and i.purged_at for i in items)
    assert not any(town.store.exists(k) for k in keys)
    assert evidence.agency_evidence(town.uow, town.officer, request_id) == []
    assert town.audit_kinds().count("evidence.purged") == 2
    with pytest.raises(Conflict):
        answers.revoke_consent(town.uow, town.store, town.residents["ana"],
            RevokeConsent(delivery_id))


def test_after_the_agency_opened_it_revoking_is_refused_and_deletion_can_be_asked(
        town, shared) -> None:
    request_id, delivery_id, clips = shared
    consent_id = _consent(town, delivery_id, {clips[0]})
    _derive(town, consent_id)
    [item] = evidence.agency_evidence(town.uow, town.officer, request_id)
    evidence.open_evidence(town.uow, town.footage, town.officer, item.id, record=True)
    with pytest.raises(Conflict, match="ask for deletion"):
        answers.revoke_consent(town.uow, town.store, town.residents["ana"],
            RevokeConsent(delivery_id))
    with town.uow.reading():
        assert town.uow.consents.get(consent_id).revoked_at is None
        assert town.uow.evidence.get(item.id).is_readable
    assert town.store.exists(item.object_key)
    answers.ask_for_deletion(town.uow, town.residents["ana"], AskForDeletion(delivery_id))
    assert video_requests.counts(town.uow, town.kit, town.officer,
                                 request_id).deletion_requests == 1
    with pytest.raises(Conflict):
        answers.ask_for_deletion(town.uow, town.residents["ana"], AskForDeletion(delivery_id))


def test_a_look_that_is_not_recorded_leaves_revocation_open(town, shared) -> None:
    """A HEAD request, say: no footage was sent, so it is not a view."""
    request_id, delivery_id, clips = shared
    _derive(town, _consent(town, delivery_id, {clips[0]}))
    [item] = evidence.agency_evidence(town.uow, town.officer, request_id)
    evidence.open_evidence(town.uow, town.footage, town.officer, item.id, record=False)
    answers.revoke_consent(town.uow, town.store, town.residents["ana"], RevokeConsent(delivery_id))
    assert not town.store.exists(item.object_key)


def test_only_the_receiving_agency_opens_evidence(town, shared) -> None:
    request_id, delivery_id, clips = shared
    _derive(town, _consent(town, delivery_id, {clips[0]}))
    [item] = evidence.agency_evidence(town.uow, town.officer, request_id)
    with town.uow:
        outsider = town.uow.accounts.get(town.officer.id)
    outsider.agency_id = town.other_agency_id
    with pytest.raises(NotFound):
        evidence.open_evidence(town.uow, town.footage, outsider, item.id, record=True)
    with pytest.raises(PermissionDenied):  # not staff at all
        evidence.open_evidence(town.uow, town.footage, town.residents["ana"], item.id,
                               record=True)
    with town.uow.reading():
        assert town.uow.evidence.get(item.id).first_opened_at is None
