"""Legal demands: the terms' validation and the state machine (domain), and the use cases
on the fakes — fulfilment delivers exactly the covered clips, once, to the agency as
evidence with a legal basis; a withdrawn demand delivers nothing; the owners' notices on
an injected clock (none before a court's delay ends, exactly one on and after it); an
emergency's 48-hour documentation deadline, the dashboard's flag and the notice after it;
who may do what; and the audit events (public counts, commitments, resident notices)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from porchlight.accounts.domain.accounts import StaffRole
from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import AddStaff, CreatePlatformAdmin
from porchlight.custody.domain.demands import (
    Coverage,
    DemandStatus,
    DemandTerms,
    DemandType,
    LegalDemand,
    check_terms,
)
from porchlight.custody.services import demand_views, demands, evidence, reshare, retention
from porchlight.custody.services.commands import (
    DocumentEmergency,
    FulfilLegalDemand,
    RecordLegalDemand,
    ReshareEvidence,
    WithdrawLegalDemand,
)
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PolicyRefused,
    ValidationFailed,
)
from porchlight.kernel.domain.policies import SYSTEM
from tests.unit.request_setup import HOME, NEXT_DOOR, Town, build_town

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
DOC = "Imminent threat to life: a missing child last seen on this street at 19:40."


def _terms(**changes) -> DemandTerms:
    base = dict(demand_type=DemandType.WARRANT, agency_id=uuid4(), court="Multnomah Circuit",
                docket="26-CR-1187", coverage=Coverage.CAMERAS, camera_ids=(uuid4(),),
                covers_from=NOW - timedelta(days=2), covers_to=NOW - timedelta(days=1),
                retention_days=90)
    base.update(changes)
    return DemandTerms(**base)


# ---- the domain ---------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "field"), [
    ({"court": " "}, "court"),
    ({"docket": None}, "docket"),
    ({"court": "x" * 201}, "court"),
    ({"camera_ids": ()}, "camera_ids"),
    ({"camera_ids": tuple(uuid4() for _ in range(51))}, "camera_ids"),
    ({"covers_from": None}, "covers_from"),
    ({"covers_to": NOW - timedelta(days=3)}, "covers_to"),
    ({"covers_to": NOW + timedelta(hours=1)}, "covers_to"),
    ({"covers_from": NOW - timedelta(days=40)}, "covers_to"),
    ({"coverage": Coverage.ACCOUNT_DATA}, "account_ids"),
    ({"notice_delayed_until": NOW - timedelta(days=1)}, "notice_delayed_until"),
    ({"notice_delayed_until": NOW + timedelta(days=366)}, "notice_delayed_until"),
    ({"demand_type": DemandType.SUBPOENA, "notice_delayed_until": NOW + timedelta(days=9)},
     "notice_delayed_until"),
    ({"demand_type": DemandType.EMERGENCY, "court": None, "docket": None,
      "notice_delayed_until": NOW + timedelta(days=9)}, "notice_delayed_until"),
    ({"retention_days": 0}, "retention_days"),
    ({"retention_days": 366}, "retention_days"),
])
def test_terms_are_refused_beside_their_field(changes: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_terms(_terms(**changes), now=NOW, max_retention_days=365)
    assert refused.value.field == field


def test_terms_that_hold() -> None:
    emergency = check_terms(_terms(demand_type=DemandType.EMERGENCY, court=None, docket=None),
                            now=NOW, max_retention_days=365)
    assert emergency.court is None and emergency.docket is None
    delayed = check_terms(_terms(demand_type=DemandType.COURT_ORDER,
                                 notice_delayed_until=NOW + timedelta(days=90),
                                 docket="  26  CR 1 "), now=NOW, max_retention_days=365)
    assert delayed.docket == "26 CR 1"
    accounts_only = check_terms(_terms(coverage=Coverage.ACCOUNT_DATA,
                                       account_ids=(uuid4(), uuid4())),
                                now=NOW, max_retention_days=365)
    assert accounts_only.camera_ids == () and accounts_only.covers_from is None


def _demand(**changes) -> LegalDemand:
    return LegalDemand.record_new(demand_id=uuid4(), terms=_terms(**changes), admin_id=None,
                                  nonce="ab" * 16, now=NOW, max_retention_days=365)


def test_the_state_machine() -> None:
    demand = _demand()
    demand.withdraw(admin_id=None, now=NOW)
    assert demand.status is DemandStatus.WITHDRAWN
    for act in (lambda: demand.fulfil(admin_id=None, owner_ids=[], now=NOW),
                lambda: demand.withdraw(admin_id=None, now=NOW)):
        with pytest.raises(Conflict):
            act()
    other = _demand()
    other.fulfil(admin_id=None, owner_ids=[uuid4()], now=NOW)
    with pytest.raises(Conflict):
        other.withdraw(admin_id=None, now=NOW)
    with pytest.raises(Conflict):  # only an emergency is documented
        other.document(staff_id=uuid4(), text=DOC, nonce="cd" * 16, now=NOW)


def test_when_the_owners_are_told() -> None:
    plain = _demand()
    plain.fulfil(admin_id=None, owner_ids=[uuid4()], now=NOW)
    assert plain.notice_due_at is None  # not before the delivery is done
    plain.delivered(clips=2, account_records=None, now=NOW + timedelta(minutes=1))
    assert plain.notice_due_at == NOW + timedelta(minutes=1)
    until = NOW + timedelta(days=30)
    delayed = _demand(notice_delayed_until=until)
    delayed.fulfil(admin_id=None, owner_ids=[uuid4()], now=NOW)
    delayed.delivered(clips=0, account_records=None, now=NOW)
    assert delayed.notice_due_at == until and not delayed.notice_due(until - timedelta(1))
    assert delayed.send_notice(now=until - timedelta(seconds=1)) == []
    assert len(delayed.send_notice(now=until)) == 1 and delayed.send_notice(now=until) == []
    emergency = _demand(demand_type=DemandType.EMERGENCY, court=None, docket=None)
    emergency.fulfil(admin_id=None, owner_ids=[uuid4()], now=NOW)
    emergency.delivered(clips=1, account_records=None, now=NOW)
    assert emergency.notice_due_at == NOW + timedelta(hours=48)
    assert not emergency.documentation_overdue(NOW + timedelta(hours=47, minutes=59))
    assert emergency.documentation_overdue(NOW + timedelta(hours=48))
    emergency.document(staff_id=uuid4(), text=DOC, nonce="cd" * 16,
                       now=NOW + timedelta(hours=3))
    assert emergency.notice_due_at == NOW + timedelta(hours=3)
    assert not emergency.documented_late and not emergency.documentation_overdue(
        NOW + timedelta(days=5))


def test_the_recorded_event_commits_to_the_court_and_docket() -> None:
    demand = _demand()
    [event] = demand.pull_events()
    payload = event.audit_payload()
    text = "Multnomah Circuit\n26-CR-1187"
    assert payload["terms_chars"] == len(text) and "Multnomah" not in str(payload)
    assert payload["terms_commitment"] == hashlib.sha256(
        bytes.fromhex("ab" * 16) + text.encode()).hexdigest()
    assert payload["cameras"] == 1 and payload["accounts"] == 0
    assert payload["demand_type"] == "warrant" and payload["coverage"] == "cameras"


# ---- the use cases --------------------------------------------------------------------------


@pytest.fixture
def town(clock: FixedClock, tmp_path: Path) -> Town:
    made = build_town(clock, tmp_path)
    made.resident("ana", NEXT_DOOR)
    made.resident("ben", HOME)
    made.resident("cy", HOME)
    return made


def _admin(town: Town):
    admin_id = accounts.create_platform_admin(town.uow, SYSTEM, CreatePlatformAdmin(
        "admin@porchlight.test", "Admin", "a long admin passphrase 7"))
    with town.uow.reading():
        return town.uow.accounts.get(admin_id)


def _record(town: Town, who=None, **changes) -> UUID:
    start = town.window_start
    terms = dict(demand_type=DemandType.WARRANT, agency_id=town.agency_id,
                 court="Multnomah Circuit", docket="26-CR-1187", coverage=Coverage.CAMERAS,
                 camera_ids=(town.cameras["ana"], town.cameras["ben"]), covers_from=start,
                 covers_to=start + timedelta(hours=1), retention_days=60)
    terms.update(changes)
    return demands.record_demand(town.uow, town.kit.policy, who or SYSTEM,
                                 RecordLegalDemand(DemandTerms(**terms)))


def _fulfil(town: Town, demand_id: UUID, who=None) -> None:
    demands.fulfil_demand(town.uow, who or SYSTEM, FulfilLegalDemand(demand_id))


def _deliver(town: Town, demand_id: UUID) -> int:
    return demands.deliver(town.uow, town.footage, demand_id, town.workdir / "ev")


def _get(town: Town, demand_id: UUID) -> LegalDemand:
    with town.uow.reading():
        return town.uow.demands.get(demand_id)


def _items(town: Town, demand_id: UUID):
    with town.uow.reading():
        return list(town.uow.evidence.for_demand(demand_id))


def _clips(town: Town) -> dict[str, UUID]:
    start = town.window_start
    return {
        "ana_in": town.clip("ana", start + timedelta(minutes=10)),
        "ana_edge": town.clip("ana", start - timedelta(seconds=6)),  # overlaps the start
        "ana_before": town.clip("ana", start - timedelta(minutes=5)),
        "ben_in": town.clip("ben", start + timedelta(minutes=50)),
        "ben_after": town.clip("ben", start + timedelta(hours=1, minutes=1)),
        "cy_in": town.clip("cy", start + timedelta(minutes=20)),  # cy's camera not covered
    }


def test_fulfilment_delivers_exactly_the_covered_clips_once(town) -> None:
    clips = _clips(town)
    admin = _admin(town)
    demand_id = _record(town, admin)
    assert _items(town, demand_id) == []
    _fulfil(town, demand_id, admin)
    assert [j.key for j in town.uow.woken if j.kind == "evidence.legal_demand"] == [
        f"evidence.legal_demand:{demand_id}"]
    assert _items(town, demand_id) == []  # the copies are the job's work
    assert _deliver(town, demand_id) == 3
    assert _deliver(town, demand_id) == 0  # idempotent: a second run makes nothing
    items = _items(town, demand_id)
    assert {i.source_clip_id for i in items} == {clips["ana_in"], clips["ana_edge"],
                                                 clips["ben_in"]}
    for item in items:
        assert (item.basis, item.consent_id, item.request_id) == ("legal_demand", None, None)
        assert item.agency_id == town.agency_id
        assert item.expires_at == item.received_at + timedelta(days=60)
    # the agency opens them like any evidence; another agency does not
    opened, _ = evidence.open_evidence(town.uow, town.footage, town.officer, items[0].id,
                                       record=True)
    assert opened.id == items[0].id
    demand = _get(town, demand_id)
    assert demand.clips_disclosed == 3 and demand.delivered_at is not None
    assert sorted(demand.owner_ids) == sorted([str(town.residents["ana"].id),
                                               str(town.residents["ben"].id)])


def test_a_job_killed_half_way_is_finished_by_its_retry(town) -> None:
    _clips(town)
    demand_id = _record(town)
    _fulfil(town, demand_id)
    real = demands._store
    calls = []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    demands._store = dying
    try:
        with pytest.raises(RuntimeError):
            _deliver(town, demand_id)
    finally:
        demands._store = real
    assert len(_items(town, demand_id)) == 1 and _get(town, demand_id).delivered_at is None
    assert _deliver(town, demand_id) == 2 and len(_items(town, demand_id)) == 3


def test_a_withdrawn_demand_delivers_nothing(town) -> None:
    _clips(town)
    demand_id = _record(town)
    demands.withdraw_demand(town.uow, SYSTEM, WithdrawLegalDemand(demand_id))
    assert _deliver(town, demand_id) == 0 and _items(town, demand_id) == []
    with pytest.raises(Conflict):
        _fulfil(town, demand_id)
    assert [e.kind for e in town.uow.audit if e.kind.startswith("legal_demand")] == [
        "legal_demand.recorded", "legal_demand.withdrawn"]


def test_account_data_is_a_record_of_the_listed_fields(town) -> None:
    ana = town.residents["ana"]
    demand_id = _record(town, coverage=Coverage.ACCOUNT_DATA, account_ids=(ana.id,),
                        camera_ids=(), covers_from=None, covers_to=None)
    _fulfil(town, demand_id)
    assert _deliver(town, demand_id) == 0
    [record] = _get(town, demand_id).account_records
    assert record["email"] == "ana@example.org" and record["display_name"] == "Ana"
    assert [c["id"] for c in record["cameras"]] == [str(town.cameras["ana"])]
    assert set(record) == {"account_id", "display_name", "email", "created_at", "cameras"}
    # and it is deleted with the demand's retention
    town.clock.advance(timedelta(days=61))
    assert demands.expire_account_records(town.uow) == 1
    assert _get(town, demand_id).account_records is None


def _mails(town: Town) -> list:
    return [m for m in town.mailer.sent if "covered your footage" in m.subject]


def _run_mail_jobs(town: Town) -> None:
    for job in list(town.uow.woken):
        if job.kind == "mail.legal_demand_notice":
            demands.tell_owner(town.uow, town.mailer, "https://p.test",
                               UUID(job.args["demand_id"]), UUID(job.args["owner_id"]))
    town.uow.woken.clear()


def test_without_a_delay_the_owners_are_told_when_the_delivery_is_done(town) -> None:
    _clips(town)
    demand_id = _record(town)
    _fulfil(town, demand_id)
    assert not [j for j in town.uow.woken if j.kind == "mail.legal_demand_notice"]
    _deliver(town, demand_id)
    _run_mail_jobs(town)
    mails = _mails(town)
    assert sorted(m.to for m in mails) == ["ana@example.org", "ben@example.org"]
    [ana] = [m for m in mails if m.to == "ana@example.org"]
    assert "warrant from Metro PD" in ana.body and "docket 26-CR-1187" in ana.body
    assert "covered your camera ana's door" in ana.body and "2 clips were disclosed" in ana.body
    [notice] = demand_views.owner_notices(town.uow, town.residents["ana"])
    assert (notice.clips, notice.cameras, notice.docket) == (2, ["ana's door"], "26-CR-1187")
    assert demand_views.owner_notices(town.uow, town.residents["cy"]) == []


def test_notice_delay_no_mail_before_the_end_date_exactly_one_on_and_after(town) -> None:
    _clips(town)
    until = town.clock.now() + timedelta(days=30)
    demand_id = _record(town, demand_type=DemandType.COURT_ORDER, notice_delayed_until=until)
    _fulfil(town, demand_id)
    _deliver(town, demand_id)
    for moment in (timedelta(0), timedelta(days=10), timedelta(days=29, hours=23)):
        town.clock.set(until - timedelta(days=30) + moment)
        assert demands.send_due_notices(town.uow) == 0
        _run_mail_jobs(town)
        assert _mails(town) == []
        assert demand_views.owner_notices(town.uow, town.residents["ana"]) == []
    town.clock.set(until)
    assert demands.send_due_notices(town.uow) == 1
    _run_mail_jobs(town)
    assert len([m for m in _mails(town) if m.to == "ana@example.org"]) == 1
    for later in (timedelta(minutes=5), timedelta(days=3)):
        town.clock.set(until + later)
        assert demands.send_due_notices(town.uow) == 0
        _run_mail_jobs(town)
    assert len(_mails(town)) == 2  # one each for ana and ben, ever
    assert len(demand_views.owner_notices(town.uow, town.residents["ana"])) == 1
    kinds = [e.kind for e in town.uow.audit]
    assert kinds.count("legal_demand.notice_sent") == 1
    assert kinds.count("legal_demand.owner_notified") == 2


def _supervisor(town: Town, agency_id: UUID, role=StaffRole.SUPERVISOR):
    staff_id = accounts.add_staff(town.uow, SYSTEM, AddStaff(
        agency_id, f"{uuid4().hex[:8]}@agency.example", "Sup", role), None)
    with town.uow.reading():
        return town.uow.accounts.get(staff_id)


def _emergency(town: Town) -> UUID:
    _clips(town)
    demand_id = _record(town, demand_type=DemandType.EMERGENCY, court=None, docket=None)
    _fulfil(town, demand_id)
    _deliver(town, demand_id)
    return demand_id


def test_an_undocumented_emergency_is_flagged_at_48_hours_and_the_owners_told(town) -> None:
    admin = _admin(town)
    demand_id = _emergency(town)
    start = town.clock.now()
    town.clock.set(start + timedelta(hours=47, minutes=59))
    assert demand_views.overdue_emergencies(town.uow, admin) == []
    assert demands.send_due_notices(town.uow) == 0
    town.clock.set(start + timedelta(hours=48))
    [(flagged, agency)] = demand_views.overdue_emergencies(town.uow, admin)
    assert (flagged.id, agency) == (demand_id, "Metro PD")
    assert demands.send_due_notices(town.uow) == 1
    _run_mail_jobs(town)
    assert all("had not documented it within 48 hours" in m.body for m in _mails(town))
    # documented late: accepted, marked late, no second notice
    demands.document_emergency(town.uow, town.supervisor, DocumentEmergency(demand_id, DOC))
    assert _get(town, demand_id).documented_late
    assert demand_views.overdue_emergencies(town.uow, admin) == []
    _run_mail_jobs(town)
    assert len(_mails(town)) == 2
    [event] = [e for e in town.uow.audit if e.kind == "legal_demand.documented"]
    assert event.audit_payload()["late"] is True and DOC not in str(event.audit_payload())


def test_a_documented_emergency_tells_the_owners_at_once(town) -> None:
    demand_id = _emergency(town)
    town.clock.advance(timedelta(hours=5))
    with pytest.raises(PermissionDenied):  # an officer does not document it
        demands.document_emergency(town.uow, town.officer, DocumentEmergency(demand_id, DOC))
    with pytest.raises(ValidationFailed):
        demands.document_emergency(town.uow, town.supervisor,
                                   DocumentEmergency(demand_id, "too short"))
    demands.document_emergency(town.uow, town.supervisor, DocumentEmergency(demand_id, DOC))
    _run_mail_jobs(town)
    assert len(_mails(town)) == 2 and all("documented it on" in m.body for m in _mails(town))
    with pytest.raises(Conflict):
        demands.document_emergency(town.uow, town.supervisor,
                                   DocumentEmergency(demand_id, DOC))


def test_who_may_do_what(town) -> None:
    demand_id = _emergency(town)
    ana, officer = town.residents["ana"], town.officer
    other = _supervisor(town, town.other_agency_id)
    for who in (ana, officer, other):
        with pytest.raises(PermissionDenied):
            _record(town, who)
        with pytest.raises(PermissionDenied):
            demands.withdraw_demand(town.uow, who, WithdrawLegalDemand(demand_id))
        with pytest.raises(PermissionDenied):
            demand_views.overdue_emergencies(town.uow, who)
    with pytest.raises(NotFound):  # another agency: it does not exist
        demands.document_emergency(town.uow, other, DocumentEmergency(demand_id, DOC))
    with pytest.raises(NotFound):
        demand_views.get_demand(town.uow, other, demand_id)
    with pytest.raises(PermissionDenied):
        demand_views.get_demand(town.uow, ana, demand_id)
    assert demand_views.get_demand(town.uow, officer, demand_id).demand.id == demand_id
    assert demand_views.get_demand(town.uow, officer, demand_id).accounts == []
    assert [d.id for d, _, _ in demand_views.list_demands(town.uow, officer)] == [demand_id]
    assert demand_views.list_demands(town.uow, other) == []
    with pytest.raises(PermissionDenied):
        demand_views.list_demands(town.uow, ana)


def test_an_unverified_agency_or_unknown_subjects_are_refused(town) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _record(town, agency_id=uuid4())
    assert refused.value.field == "agency_id"
    with pytest.raises(ValidationFailed) as refused:
        _record(town, camera_ids=(uuid4(),))
    assert refused.value.field == "camera_ids"
    with pytest.raises(ValidationFailed) as refused:
        _record(town, coverage=Coverage.ACCOUNT_DATA, account_ids=(town.officer.id,))
    assert refused.value.field == "account_ids"


def test_legal_evidence_is_not_reshared_and_expires_with_the_demand(town) -> None:
    _clips(town)
    demand_id = _record(town)
    _fulfil(town, demand_id)
    _deliver(town, demand_id)
    item = _items(town, demand_id)[0]
    with pytest.raises(PolicyRefused):
        reshare.reshare(town.uow, town.officer, ReshareEvidence(
            item.id, town.other_agency_id, "The county wants the same footage."))
    town.clock.advance(timedelta(days=61))
    assert retention.expire_due(town.uow) == 3
    assert not retention.tell_owner(town.uow, town.mailer, item.id)  # told of the demand


def test_the_public_events_name_no_resident(town) -> None:
    demand_id = _emergency(town)
    demands.document_emergency(town.uow, town.supervisor, DocumentEmergency(demand_id, DOC))
    residents = {str(r.id) for r in town.residents.values()}
    cameras = {str(c) for c in town.cameras.values()}
    for event in town.uow.audit:
        if not event.kind.startswith("legal_demand.") or event.kind.endswith("owner_notified"):
            continue
        payload = str(event.audit_payload())
        assert not any(r in payload for r in residents | cameras), event.kind
    notified = [e for e in town.uow.audit if e.kind == "legal_demand.owner_notified"]
    assert {str(e.owner_id) for e in notified} == {str(town.residents["ana"].id),
                                                   str(town.residents["ben"].id)}
