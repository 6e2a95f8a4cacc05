"""One contract for every repository and the unit of work, run on the fakes and on SQL.

The unit tests trust ``tests/unit/fake_uow.py`` to behave as ``SqlUnitOfWork`` does; these
checks run unchanged on the fake, on SQLite and on PostgreSQL (when
PORCHLIGHT_TEST_POSTGRES_URL is set), so a fake that drifts from the real thing fails here:
the same filters, order and limits for every query, and the same transaction rules
(rollback drops, events and jobs only on commit, raced unique rules as ``Conflict``).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy.orm import sessionmaker

from porchlight.custody.domain.reshare import EvidenceShare
from porchlight.jobs.domain.jobs import Job, JobState
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.adapters.db.orm import start_mappers
from porchlight.kernel.adapters.db.uow import SqlUnitOfWork
from porchlight.kernel.domain.errors import Conflict
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.services import ports
from porchlight.kernel.services.messagebus import MessageBus
from porchlight.kernel.services.unit_of_work import ReadOnlyViolation, WriteLockBusy
from porchlight.requests.domain.consent import ConsentGranted
from porchlight.requests.domain.requests import RequestStatus
from tests.integration import repository_rows as rows
from tests.integration.conftest import T0
from tests.unit.fake_repositories import REPOSITORIES, FakeAuditEventRepository
from tests.unit.fake_uow import FakeUnitOfWork

NOW = T0


@dataclass
class Harness:
    uow: Any
    woken: list[Job] = field(default_factory=list)

    def save(self, *entities: Any) -> None:
        """Add and commit each in turn (with no relationships mapped, one flush does not
        order the inserts by their foreign keys)."""
        for entity in entities:
            with self.uow:
                repository_of(self.uow, entity).add(entity)
                self.uow.commit()


_REPOSITORY_OF = {
    "Account": "accounts", "Agency": "agencies", "Camera": "cameras", "Session": "sessions",
    "ApiToken": "api_tokens", "DeviceToken": "device_tokens",
    "OneTimeToken": "one_time_tokens", "RecoveryCode": "recovery_codes", "Clip": "clips",
    "VideoRequest": "requests", "Delivery": "deliveries", "Consent": "consents",
    "EvidenceItem": "evidence", "LegalHold": "holds", "EvidenceShare": "shares",
    "Post": "posts", "Comment": "comments", "Report": "reports",
}


def repository_of(uow: Any, entity: Any) -> Any:
    return getattr(uow, _REPOSITORY_OF[type(entity).__name__])


@pytest.fixture(params=["fake", "sqlite", "postgres"])
def h(request: pytest.FixtureRequest) -> Iterator[Harness]:
    woken: list[Job] = []
    clock = FixedClock(NOW)
    if request.param == "fake":
        yield Harness(FakeUnitOfWork(clock, bus=MessageBus(), wake=woken.extend), woken)
        return
    start_mappers()
    engine = request.getfixturevalue(f"{request.param}_engine")
    with engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                               expire_on_commit=False)
        yield Harness(SqlUnitOfWork(factory, clock, bus=MessageBus(), wake=woken.extend),
                      woken)
        if outer.is_active:
            outer.rollback()


def ids(found: Any) -> list:
    return [entity.id for entity in found]


# ---- the shape: every repository of the protocol, every method with its signature ----


def test_the_fake_unit_of_work_has_every_repository_with_the_protocols_methods() -> None:
    fake = FakeUnitOfWork(FixedClock(NOW))
    declared = {name: hint for name, hint in ports.UnitOfWork.__annotations__.items()
                if hint.endswith("Repository")}
    assert set(declared) == {*REPOSITORIES, "audit_events"}
    for name, protocol_name in declared.items():
        protocol = getattr(ports, protocol_name)
        fake_class = type(getattr(fake, name))
        assert fake_class is FakeAuditEventRepository or fake_class is REPOSITORIES[name]
        methods = [m for m in vars(protocol) if not m.startswith("_")]
        assert methods, protocol_name
        for method in methods:
            generic = method in ("add", "get")  # add(entity) and add(account) agree
            assert _shape(getattr(fake_class, method), generic) == _shape(
                getattr(protocol, method), generic), (name, method)


def _shape(method: Any, generic: bool) -> list[tuple]:
    """Parameters as a caller sees them: kinds, defaults and names."""
    parameters = list(inspect.signature(method).parameters.values())[1:]
    return [(p.kind, p.default, None if generic else p.name) for p in parameters]


# ---- the unit of work ----------------------------------------------------------------------


def test_an_uncommitted_or_rolled_back_change_is_gone(h: Harness) -> None:
    kept = rows.agency(NOW, "Kept")
    h.save(kept)
    with h.uow:
        h.uow.agencies.add(rows.agency(NOW, "Never committed"))
        h.uow.agencies.get(kept.id).name = "Renamed, never committed"
    with h.uow:
        h.uow.agencies.get(kept.id).name = "Renamed, rolled back"
        h.uow.rollback()
        assert h.uow.agencies.get(kept.id).name == "Kept"  # read again after the rollback
    with h.uow.reading():
        assert [a.name for a in h.uow.agencies.list()] == ["Kept"]


def test_a_committed_change_is_seen_by_the_next_unit_of_work(h: Harness) -> None:
    kept = rows.agency(NOW, "Kept")
    h.save(kept)
    with h.uow:
        h.uow.agencies.get(kept.id).name = "Renamed"
        h.uow.commit()
    kept.name = "Changed after its block: stored nowhere"
    with h.uow.reading():
        assert h.uow.agencies.get(kept.id).name == "Renamed"


def test_a_query_sees_the_blocks_own_pending_changes(h: Harness) -> None:
    h.save(rows.agency(NOW, "Zeta"))
    with h.uow:
        h.uow.agencies.add(rows.agency(NOW, "Alpha"))
        h.uow.agencies.list()[1].name = "Beta"
        assert [a.name for a in h.uow.agencies.list()] == ["Alpha", "Beta"]


def test_the_same_row_twice_in_one_block_is_the_same_object(h: Harness) -> None:
    kept = rows.agency(NOW)
    h.save(kept)
    with h.uow.reading():
        assert h.uow.agencies.get(kept.id) is h.uow.agencies.list()[0]


def test_reading_refuses_to_commit_or_to_write(h: Harness) -> None:
    kept = rows.agency(NOW)
    h.save(kept)
    with pytest.raises(ReadOnlyViolation), h.uow.reading():
        h.uow.commit()
    with pytest.raises(ReadOnlyViolation), h.uow.reading():
        h.uow.agencies.add(rows.agency(NOW, "Other"))
        h.uow.agencies.list()
    with pytest.raises(ReadOnlyViolation), h.uow.reading():
        h.uow.agencies.get(kept.id).name = "Renamed"
        h.uow.agencies.list()


def test_events_become_audit_events_only_on_commit(h: Harness) -> None:
    a = rows.agency(NOW)
    a.verified_at = None
    h.save(a)
    actor = uuid4()
    with h.uow:
        h.uow.agencies.get(a.id).verify(now=NOW, actor_id=actor)
    with h.uow:
        h.uow.agencies.get(a.id).verify(now=NOW, actor_id=actor)
        h.uow.rollback()
        h.uow.commit()  # nothing left to write
    with h.uow.reading():
        assert h.uow.audit_events.count_recent([actor], "agency.verified", NOW) == 0
    with h.uow:
        h.uow.agencies.get(a.id).verify(now=NOW, actor_id=actor)
        h.uow.commit()
    with h.uow.reading():
        assert h.uow.audit_events.count_recent([actor], "agency.verified", NOW) == 1
        assert h.uow.audit_events.count_recent([actor], "agency.verified",
                                               NOW + timedelta(seconds=1)) == 0
        assert h.uow.audit_events.count_recent([uuid4()], "agency.verified", NOW) == 0
        assert h.uow.audit_events.count_recent([actor], "agency.created", NOW) == 0


def _consent_event(h: Harness) -> Any:
    """A committed request, delivery and camera, and a consent to add (its event asks
    the message bus for the evidence job)."""
    w = _World.build(h)
    given = rows.consent(NOW, w.delivery, w.agency.id, [w.clip.id])
    given.record(ConsentGranted(actor_id=None, consent_id=given.id, request_id=w.request.id,
                                clips=1, scope="this_agency", contact_shared=False,
                                disclosure_sha256=given.disclosure_sha256))
    return given


def test_jobs_are_written_with_the_commit_and_woken_only_after_it(h: Harness) -> None:
    given = _consent_event(h)
    with h.uow:
        h.uow.consents.add(given)
        h.uow.commit()
        assert h.woken == []  # not while the block is open
    assert [job.key for job in h.woken] == [f"evidence.derive:{given.id}"]
    with h.uow.reading():
        assert h.uow.jobs.by_key(f"evidence.derive:{given.id}").state is JobState.PENDING


def test_a_rolled_back_change_writes_and_wakes_no_job(h: Harness) -> None:
    given = _consent_event(h)
    with h.uow:
        h.uow.consents.add(given)
    with h.uow.reading():
        assert h.uow.jobs.by_key(f"evidence.derive:{given.id}") is None
    assert h.woken == []


def test_two_consents_for_one_delivery_are_a_conflict_and_leave_nothing(h: Harness) -> None:
    w = _World.build(h)
    h.save(rows.consent(NOW, w.delivery, w.agency.id, [w.clip.id]))
    second = rows.consent(NOW, w.delivery, w.agency.id, [w.clip.id])
    with pytest.raises(Conflict), h.uow:
        h.uow.consents.add(second)
        h.uow.commit()
    with h.uow.reading():
        assert h.uow.consents.get(second.id) is None


def test_a_deleted_clip_frees_its_bytes_for_a_new_upload_but_a_live_one_does_not(
        h: Harness) -> None:
    w = _World.build(h)
    same = rows.clip(w.camera, NOW - timedelta(hours=3), sha=w.clip.sha256)
    with pytest.raises(Conflict), h.uow:
        h.uow.clips.add(same)
        h.uow.commit()
    with h.uow:
        h.uow.clips.get(w.clip.id).deleted_at = NOW
        h.uow.clips.add(same)
        h.uow.commit()
    with h.uow.reading():
        assert h.uow.clips.find_by_sha256(w.camera.id, w.clip.sha256).id == same.id


def test_unless_busy_writes_when_nobody_else_is(h: Harness) -> None:
    a = rows.agency(NOW)
    h.save(a)
    with h.uow.unless_busy():
        h.uow.agencies.get(a.id).name = "Renamed"
        h.uow.commit()
    with h.uow.reading():
        assert h.uow.agencies.get(a.id).name == "Renamed"


def test_the_fake_can_be_busy() -> None:
    fake = FakeUnitOfWork(FixedClock(NOW))
    fake.busy = True
    with pytest.raises(WriteLockBusy), fake.unless_busy():
        pass


def test_a_repository_used_outside_its_block_refuses(h: Harness) -> None:
    with h.uow:
        pass
    with pytest.raises(RuntimeError):
        h.uow.lock(rows.agency(NOW))


# ---- each repository's queries ---------------------------------------------------------------


@dataclass
class _World:
    agency: Any
    officer: Any
    resident: Any
    camera: Any
    clip: Any
    request: Any
    delivery: Any

    @classmethod
    def build(cls, h: Harness) -> _World:
        a = rows.agency(NOW)
        officer = rows.staff(NOW, a.id, "Officer")
        ana = rows.resident(NOW)
        cam = rows.camera(NOW, ana.id)
        clip = rows.clip(cam, NOW - timedelta(hours=2))
        req = rows.request(NOW, a.id, officer.id)
        given = rows.delivery(NOW, req.id, ana.id, [cam.id])
        h.save(a, officer, ana, cam, clip, req, given)
        return cls(a, officer, ana, cam, clip, req, given)


def test_accounts(h: Harness) -> None:
    a = rows.agency(NOW)
    zed, amy = rows.staff(NOW, a.id, "Zed"), rows.staff(NOW, a.id, "Amy")
    ana = rows.resident(NOW, "ana@example.org")
    h.save(a, zed, amy, ana, rows.resident(NOW))
    with h.uow.reading():
        assert h.uow.accounts.get(ana.id).email == "ana@example.org"
        assert h.uow.accounts.get(uuid4()) is None
        assert h.uow.accounts.get_by_email("ana@example.org").id == ana.id
        assert h.uow.accounts.get_by_email("ANA@example.org") is None  # stored normalised
        assert ids(h.uow.accounts.list_staff(a.id)) == [amy.id, zed.id]
        assert h.uow.accounts.list_staff(uuid4()) == []
        assert h.uow.accounts.count_residents() == 2
    with pytest.raises(Conflict), h.uow:
        h.uow.accounts.add(rows.resident(NOW, "ana@example.org"))
        h.uow.commit()


def test_agencies(h: Harness) -> None:
    b, a = rows.agency(NOW, "Beta PD"), rows.agency(NOW, "Alpha PD")
    h.save(b, a)
    with h.uow.reading():
        assert ids(h.uow.agencies.list()) == [a.id, b.id]
        assert h.uow.agencies.get(b.id).name == "Beta PD"


def test_cameras(h: Harness) -> None:
    ana, ben = rows.resident(NOW), rows.resident(NOW)
    near = LatLon(rows.HOME.lat + 0.001, rows.HOME.lon)  # about 111 m north
    later = rows.camera(NOW + timedelta(minutes=1), ana.id)
    first = rows.camera(NOW, ana.id, near)
    shy = rows.camera(NOW, ben.id, opted_in=False)
    far = rows.camera(NOW, ben.id, LatLon(rows.HOME.lat + 0.01, rows.HOME.lon))
    h.save(ana, ben, later, first, shy, far)
    with h.uow.reading():
        assert ids(h.uow.cameras.list_by_owner(ana.id)) == [first.id, later.id]
        assert h.uow.cameras.count() == 4
        assert h.uow.cameras.count(opted_in=True) == 3
        assert h.uow.cameras.count(opted_in=False) == 1
        assert set(ids(h.uow.cameras.within(rows.HOME, 150))) == {later.id, first.id}
        assert set(ids(h.uow.cameras.within(rows.HOME, 100))) == {later.id}
        assert set(ids(h.uow.cameras.within(rows.HOME, 150, opted_in_only=False))) == {
            later.id, first.id, shy.id}


def test_sessions(h: Harness) -> None:
    ana = rows.resident(NOW)
    old, new = rows.session(NOW, ana.id), rows.session(NOW + timedelta(minutes=1), ana.id)
    ended = rows.session(NOW, ana.id, ended=True)
    h.save(ana, old, new, ended)
    with h.uow.reading():
        assert h.uow.sessions.get(old.id).token_hash == old.token_hash
        assert h.uow.sessions.get_by_token_hash(ended.token_hash).id == ended.id
        assert h.uow.sessions.get_by_token_hash("0" * 64) is None
        assert ids(h.uow.sessions.list_open(ana.id)) == [new.id, old.id]


def test_api_tokens(h: Harness) -> None:
    ana = rows.resident(NOW)
    old, new = rows.api_token(NOW, ana.id), rows.api_token(NOW + timedelta(minutes=1), ana.id)
    h.save(ana, old, new)
    with h.uow.reading():
        assert h.uow.api_tokens.get(old.id).scopes == ["read"]
        assert h.uow.api_tokens.get_by_token_hash(new.token_hash).id == new.id
        assert h.uow.api_tokens.get_by_token_hash("0" * 64) is None
        assert ids(h.uow.api_tokens.list_for_account(ana.id)) == [new.id, old.id]
        assert h.uow.api_tokens.list_for_account(uuid4()) == []


def test_device_tokens(h: Harness) -> None:
    ana = rows.resident(NOW)
    cam = rows.camera(NOW, ana.id)
    old = rows.device_token(NOW, cam.id)
    new = rows.device_token(NOW + timedelta(minutes=1), cam.id)
    h.save(ana, cam, old, new)
    with h.uow.reading():
        assert h.uow.device_tokens.get_by_token_hash(old.token_hash).id == old.id
        assert ids(h.uow.device_tokens.list_for_camera(cam.id)) == [new.id, old.id]


def test_one_time_tokens_and_recovery_codes(h: Harness) -> None:
    ana = rows.resident(NOW)
    link, used = rows.one_time_token(NOW, ana.id), rows.one_time_token(NOW, ana.id, used=True)
    code, spent = rows.recovery_code(NOW, ana.id), rows.recovery_code(NOW, ana.id, used=True)
    h.save(ana, link, used, code, spent)
    with h.uow.reading():
        assert h.uow.one_time_tokens.get_by_token_hash(used.token_hash).id == used.id
        assert ids(h.uow.one_time_tokens.list_open(ana.id)) == [link.id]
        assert ids(h.uow.recovery_codes.list_unused(ana.id)) == [code.id]


def test_clips(h: Harness) -> None:
    ana = rows.resident(NOW)
    cam, other = rows.camera(NOW, ana.id), rows.camera(NOW, ana.id)
    start = NOW - timedelta(hours=5)
    before = rows.clip(cam, start - timedelta(seconds=60), expires_at=NOW - timedelta(hours=1))
    inside = rows.clip(cam, start + timedelta(minutes=10), expires_at=NOW - timedelta(hours=2))
    at_end = rows.clip(cam, start + timedelta(hours=1), expires_at=NOW - timedelta(hours=2))
    gone = rows.clip(cam, start + timedelta(minutes=5), expires_at=NOW - timedelta(days=1))
    gone.deleted_at, gone.wrapped_key = NOW, None
    shredded = rows.clip(other, start + timedelta(minutes=5), expires_at=NOW + timedelta(1))
    shredded.wrapped_key = None
    half = rows.clip(other, start + timedelta(hours=2), expires_at=NOW - timedelta(hours=3))
    half.wrapped_key = None  # expired and shredded, its purge job not run yet
    h.save(ana, cam, other, before, inside, at_end, gone, shredded, half)
    clips = h.uow.clips
    with h.uow.reading():
        assert clips.find_by_sha256(cam.id, inside.sha256).id == inside.id
        assert clips.find_by_sha256(cam.id, gone.sha256) is None
        assert clips.find_by_sha256(other.id, inside.sha256) is None
        # a shredded clip is gone to its owner at once, before its purge job marks it
        assert ids(clips.list_for_owner(ana.id)) == [at_end.id, inside.id, before.id]
        assert ids(clips.list_for_owner(ana.id, limit=2)) == [at_end.id, inside.id]
        assert ids(clips.list_for_camera(cam.id)) == [before.id, inside.id, at_end.id]
        window = (start, start + timedelta(hours=1))  # [start, end): touching is not overlap
        assert clips.cameras_with_footage([cam.id, other.id], *window) == {cam.id}
        assert clips.cameras_with_footage([cam.id], start + timedelta(hours=2),
                                          start + timedelta(hours=3)) == set()
        assert clips.cameras_with_footage([cam.id], start - timedelta(seconds=1), start) == {
            cam.id}  # the clip before runs into the last second
        assert clips.cameras_with_footage([], *window) == set()
        same_time = sorted([inside.id, at_end.id], key=lambda i: i.hex)  # then by id
        assert ids(clips.expired(NOW, limit=10)) == [half.id, *same_time, before.id]
        assert ids(clips.expired(NOW, limit=10, readable=True)) == [*same_time, before.id]
        assert len(clips.expired(NOW, limit=1)) == 1
        assert clips.count_expired(NOW) == 4
        assert clips.count_expired(NOW - timedelta(hours=2)) == 3
        keys = [inside.object_key, gone.poster_key, "clips/unknown.video"]
        assert clips.known_object_keys(keys) == {inside.object_key, gone.poster_key}
        assert clips.known_object_keys([]) == set()


def test_video_requests(h: Harness) -> None:
    a = rows.agency(NOW)
    officer = rows.staff(NOW, a.id, "Officer")
    old = rows.request(NOW, a.id, officer.id, deadline=NOW - timedelta(seconds=1))
    new = rows.request(NOW, a.id, officer.id, created_at=NOW + timedelta(minutes=1))
    waiting = rows.request(NOW, a.id, officer.id, status=RequestStatus.AWAITING_APPROVAL,
                           deadline=NOW - timedelta(days=1), created_at=NOW - timedelta(1))
    delivered = rows.request(NOW, a.id, officer.id, deadline=NOW)
    delivered.delivered_at = NOW
    h.save(a, officer, old, new, waiting, delivered)
    with h.uow.reading():
        listed = ids(h.uow.requests.list_for_agency(a.id))
        assert listed[0] == new.id and listed[-1] == waiting.id
        assert set(listed) == {old.id, new.id, waiting.id, delivered.id}
        assert set(ids(h.uow.requests.awaiting_delivery())) == {old.id, new.id}
        assert set(ids(h.uow.requests.due_to_close(NOW))) == {old.id, delivered.id}


def test_deliveries_consents_and_evidence(h: Harness) -> None:
    w = _World.build(h)
    ben = rows.resident(NOW)
    later = rows.delivery(NOW + timedelta(minutes=1), w.request.id, ben.id, [])
    other_request = rows.request(NOW, w.agency.id, w.officer.id)
    elsewhere = rows.delivery(NOW + timedelta(minutes=2), other_request.id, w.resident.id, [])
    second = rows.clip(w.camera, NOW - timedelta(hours=3))
    h.save(ben, later, other_request, elsewhere, second)
    first_consent = rows.consent(NOW + timedelta(minutes=1), w.delivery, w.agency.id,
                                 [w.clip.id, second.id])
    early_consent = rows.consent(NOW, later, w.agency.id, [])
    late_item = rows.evidence(NOW, first_consent, w.clip, NOW - timedelta(hours=2))
    early_item = rows.evidence(NOW, first_consent, second, NOW - timedelta(hours=3))
    h.save(first_consent, early_consent, late_item, early_item)
    with h.uow.reading():
        assert set(ids(h.uow.deliveries.for_request(w.request.id))) == {w.delivery.id, later.id}
        assert ids(h.uow.deliveries.for_resident(w.resident.id)) == [elsewhere.id,
                                                                     w.delivery.id]
        assert h.uow.deliveries.get(w.delivery.id).camera_ids == [str(w.camera.id)]
        assert ids(h.uow.consents.for_request(w.request.id)) == [early_consent.id,
                                                                 first_consent.id]
        assert h.uow.consents.for_delivery(w.delivery.id).id == first_consent.id
        assert h.uow.consents.for_delivery(elsewhere.id) is None
        assert ids(h.uow.evidence.for_request(w.request.id)) == [early_item.id, late_item.id]
        assert set(ids(h.uow.evidence.for_consent(first_consent.id))) == {late_item.id,
                                                                           early_item.id}
        assert h.uow.evidence.for_consent(early_consent.id) == []
        assert h.uow.evidence.expired(NOW + timedelta(days=89), 10) == []
        assert set(ids(h.uow.evidence.expired(NOW + timedelta(days=90), 10))) == {
            late_item.id, early_item.id}
        assert len(h.uow.evidence.expired(NOW + timedelta(days=90), 1)) == 1
        assert h.uow.evidence.known_object_keys(
            [late_item.object_key, "evidence/unknown.video"]) == {late_item.object_key}
        assert h.uow.evidence.known_object_keys([]) == set()
    with h.uow:  # a purged item is not expired again
        h.uow.evidence.get(late_item.id).purge(now=NOW, reason="retention", actor_id=None)
        h.uow.commit()
    with h.uow.reading():
        assert ids(h.uow.evidence.expired(NOW + timedelta(days=90), 10)) == [early_item.id]
    with pytest.raises(Conflict), h.uow:  # a second copy of one clip for one consent
        h.uow.evidence.add(rows.evidence(NOW, first_consent, w.clip, NOW))
        h.uow.commit()
    with pytest.raises(Conflict), h.uow:  # a second delivery of one request to one resident
        h.uow.deliveries.add(rows.delivery(NOW, w.request.id, ben.id, []))
        h.uow.commit()


def test_legal_holds(h: Harness) -> None:
    w = _World.build(h)
    other = rows.request(NOW, w.agency.id, w.officer.id)
    h.save(other)
    later = rows.hold(NOW + timedelta(minutes=1), w.request, w.officer.id)
    first = rows.hold(NOW, w.request, w.officer.id, days=10)
    elsewhere = rows.hold(NOW, other, w.officer.id)
    h.save(later, first, elsewhere)
    with h.uow.reading():
        assert ids(h.uow.holds.for_request(w.request.id)) == [first.id, later.id]
        assert h.uow.holds.for_request(uuid4()) == []
        assert h.uow.holds.get(first.id).until == NOW + timedelta(days=10)
    with h.uow:  # a release is kept, and the query sees it within the block
        h.uow.holds.get(first.id).released_at = NOW + timedelta(days=1)
        assert h.uow.holds.for_request(w.request.id)[0].released_at == NOW + timedelta(days=1)
        h.uow.commit()
    with h.uow.reading():
        assert h.uow.holds.get(first.id).released_at == NOW + timedelta(days=1)
        assert h.uow.holds.get(later.id).released_at is None


def test_jobs(h: Harness) -> None:
    due = rows.job(NOW, "due", run_after=NOW - timedelta(seconds=5))
    later = rows.job(NOW, "later", run_after=NOW + timedelta(minutes=1),
                     created_at=NOW + timedelta(seconds=1))
    lapsed = rows.job(NOW, "lapsed", state=JobState.RUNNING, run_after=NOW - timedelta(1),
                      claimed_until=NOW)
    held = rows.job(NOW, "held", state=JobState.RUNNING, claimed_until=NOW + timedelta(1))
    done = rows.job(NOW, "done", state=JobState.DONE, created_at=NOW + timedelta(seconds=2))
    with h.uow:
        assert all(h.uow.jobs.add_new(j) for j in (due, later, lapsed, held, done))
        assert not h.uow.jobs.add_new(rows.job(NOW, "due"))  # the same key: the same job
        h.uow.commit()
    with h.uow:
        assert not h.uow.jobs.add_new(rows.job(NOW, "due"))
        assert h.uow.jobs.get(due.id).key == "due"
        assert h.uow.jobs.by_key("lapsed").id == lapsed.id
        assert h.uow.jobs.by_key("nothing") is None
        assert ids(h.uow.jobs.due(NOW, 10)) == [lapsed.id, due.id]
        assert ids(h.uow.jobs.due(NOW, 1)) == [lapsed.id]
        assert ids(h.uow.jobs.listed([JobState.PENDING, JobState.DONE], 10)) == [
            done.id, later.id, due.id]
        assert ids(h.uow.jobs.listed([JobState.PENDING, JobState.DONE], 1)) == [done.id]
    with h.uow:  # finished a day ago: only done jobs go, dead ones wait for an admin
        h.uow.jobs.get(done.id).finished_at = NOW - timedelta(days=1)
        dead = rows.job(NOW, "dead", state=JobState.DEAD)
        dead.finished_at = NOW - timedelta(days=2)
        h.uow.jobs.add_new(dead)
        h.uow.commit()
    with h.uow:
        assert h.uow.jobs.delete_finished(NOW - timedelta(days=2), 10) == 0  # not old enough
        assert h.uow.jobs.delete_finished(NOW, 10) == 1
        h.uow.commit()
    with h.uow.reading():
        assert h.uow.jobs.get(done.id) is None and h.uow.jobs.by_key("done") is None
        assert h.uow.jobs.get(dead.id) is not None and h.uow.jobs.get(due.id) is not None


def test_re_shares_and_their_copies(h: Harness) -> None:
    w = _World.build(h)
    sheriff = rows.agency(NOW, "County Sheriff")
    consent = rows.consent(NOW, w.delivery, w.agency.id, [w.clip.id])
    item = rows.evidence(NOW, consent, w.clip, NOW - timedelta(hours=2))
    h.save(sheriff, consent, item)
    shares = [EvidenceShare.make(share_id=uuid4(), item=item, to_agency_id=sheriff.id,
                                 staff_id=w.officer.id, role="officer",
                                 reason="The county investigates the same series.",
                                 nonce="00" * 16, expires_at=NOW + timedelta(days=days),
                                 now=NOW + timedelta(minutes=days))
              for days in (30, 10)]
    h.save(*shares)
    copy = shares[0].copy(item, object_key=f"evidence/{shares[0].id}.video",
                          wrapped_key=b"wrapped", sha256=item.sha256, size_bytes=500, now=NOW)
    h.save(copy)  # the same consent and clip as its parent: one_per_clip is for originals
    with h.uow.reading():
        assert ids(h.uow.shares.for_evidence(item.id)) == [shares[1].id, shares[0].id]
        assert ids(h.uow.shares.for_consent(consent.id)) == [shares[1].id, shares[0].id]
        assert h.uow.shares.for_evidence(copy.id) == []
        assert h.uow.shares.get(shares[0].id).reason_nonce == "00" * 16
        assert ids(h.uow.evidence.received_by(sheriff.id)) == [copy.id]
        assert h.uow.evidence.received_by(w.agency.id) == []
        assert h.uow.evidence.get(copy.id).parent_id == item.id
        assert set(ids(h.uow.evidence.for_consent(consent.id))) == {item.id, copy.id}


def _post(author_id, title: str, at, *, cell: int = 613209730017394687, **changes):
    from porchlight.feed.domain.posts import Category, Place, Post

    post = Post.draft(post_id=uuid4(), author_id=author_id, category=Category.PET,
                      title=title, description="", place=Place(cell, 45.5, -122.6), now=at,
                      expires_at=at + timedelta(days=60))
    post.pull_events()
    for name, value in changes.items():
        setattr(post, name, value)
    return post


def test_feed_posts_cells_and_pages(h: Harness) -> None:
    from porchlight.feed.domain.posts import FeedPage, PostStatus

    author = rows.resident(NOW)
    h.save(author)
    posts = [_post(author.id, f"Post {i}", NOW + timedelta(minutes=i)) for i in range(5)]
    h.save(*posts)
    with h.uow:
        for i, post in enumerate(posts):
            stored = h.uow.posts.get(post.id)
            stored.status, stored.published_at = PostStatus.PUBLISHED, stored.created_at
            h.uow.posts.show_in(stored, [post.cell] if i else [post.cell, 42, 43])
        h.uow.commit()
    later = NOW + timedelta(hours=1)
    with h.uow.reading():
        page = h.uow.posts.feed(FeedPage((posts[0].cell, 42), 3, later))
        assert [p.title for p in page] == ["Post 4", "Post 3", "Post 2"]
        last = page[-1]
        rest = h.uow.posts.feed(FeedPage((posts[0].cell, 42), 3, later,
                                         before=(last.published_at, last.id)))
        assert [p.title for p in rest] == ["Post 1", "Post 0"]  # the one in 3 cells: once
        assert sorted(h.uow.posts.cells_of(posts[0].id)) == sorted([posts[0].cell, 42, 43])
        assert h.uow.posts.feed(FeedPage((42,), 3, posts[0].expires_at)) == []  # expired
        assert h.uow.posts.feed(FeedPage((42,), 3, later, category="crime")) == []
    with h.uow:
        h.uow.posts.hide(posts[4].id)
        h.uow.posts.show_in(h.uow.posts.get(posts[3].id), [43])  # moved: only in cell 43
        h.uow.commit()
    with h.uow.reading():
        assert [p.title for p in h.uow.posts.feed(FeedPage((posts[0].cell,), 9, later))] == [
            "Post 2", "Post 1", "Post 0"]
        assert ids(h.uow.posts.by_author(author.id, limit=2)) == [posts[4].id, posts[3].id]
        due = NOW + timedelta(days=60, minutes=2)
        assert ids(h.uow.posts.expired(due, 10)) == [p.id for p in posts[:3]]


def test_feed_comments_and_reports(h: Harness) -> None:
    from porchlight.feed.domain.moderation import Comment, Reason, Report, Resolution

    author, neighbour = rows.resident(NOW), rows.resident(NOW, name="Ben")
    h.save(author, neighbour)
    post = _post(author.id, "A post", NOW)
    h.save(post)
    first = Comment.write(comment_id=uuid4(), post_id=post.id, author_id=neighbour.id,
                          body="one", now=NOW + timedelta(minutes=1))
    second = Comment.write(comment_id=uuid4(), post_id=post.id, author_id=author.id,
                           body="two", now=NOW)
    h.save(first, second)
    on_post = Report.file(report_id=uuid4(), post_id=post.id, comment_id=None,
                          reporter_id=neighbour.id, reason=Reason.SPAM, note="", now=NOW)
    on_comment = Report.file(report_id=uuid4(), post_id=post.id, comment_id=first.id,
                             reporter_id=author.id, reason=Reason.HARASSMENT, note="",
                             now=NOW + timedelta(seconds=1))
    h.save(on_post, on_comment)
    with h.uow:
        assert ids(h.uow.comments.for_post(post.id)) == [second.id, first.id]
        assert ids(h.uow.reports.open()) == [on_post.id, on_comment.id]
        assert ids(h.uow.reports.open_for(post.id, None)) == [on_post.id]
        assert ids(h.uow.reports.open_for(post.id, first.id)) == [on_comment.id]
        assert ids(h.uow.reports.by(neighbour.id, post.id)) == [on_post.id]
        h.uow.reports.get(on_post.id).resolve(admin_id=None, resolution=Resolution.DISMISSED,
                                              now=NOW)
        h.uow.comments.get(first.id).remove(admin_id=None, reason=Reason.HARASSMENT,
                                            note="Not kind.", now=NOW)
        h.uow.commit()
    with h.uow.reading():
        assert ids(h.uow.reports.open()) == [on_comment.id]
        assert ids(h.uow.comments.removed()) == [first.id]
