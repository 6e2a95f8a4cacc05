"""Legal holds: the rule of the clock, who may set and end a hold, and what the owner of the
footage is told; on the fakes, with the clock moved by hand."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from porchlight.accounts.domain.accounts import StaffRole
from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import AddStaff
from porchlight.custody.domain.holds import HoldEnd, LegalHold, deletion_date
from porchlight.custody.services import evidence, holds, retention
from porchlight.custody.services.commands import CloseCase, ReleaseLegalHold, SetLegalHold
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.domain.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from porchlight.kernel.domain.policies import SYSTEM
from porchlight.requests.domain.consent import SharingScope
from porchlight.requests.domain.requests import RequestStatus
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import (
    CreateVideoRequest,
    GrantConsent,
    WithdrawVideoRequest,
)
from tests.unit.request_setup import NEXT_DOOR, Town, build_town
from tests.unit.test_request_rules import _request

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
REASON = "Kept for the trial of the Elm St burglary, set for spring."


def _hold(until: datetime = NOW + timedelta(days=60), **changes) -> LegalHold:
    terms = dict(hold_id=uuid4(), request_id=uuid4(), agency_id=uuid4(),
                 supervisor_id=uuid4(), role="supervisor", reason=REASON, nonce="ab" * 16,
                 until=until, now=NOW, longest=YEAR)
    return LegalHold.place(**{**terms, **changes})


# ---- the domain ------------------------------------------------------------------------


def test_a_hold_needs_a_reason_and_an_end_date_within_the_longest_retention() -> None:
    for reason in ("", "too short", "x" * 2001):
        with pytest.raises(ValidationFailed) as refused:
            _hold(reason=reason)
        assert refused.value.field == "reason"
    for until in (NOW, NOW - timedelta(days=1), NOW + YEAR + timedelta(seconds=1)):
        with pytest.raises(ValidationFailed) as refused:
            _hold(until=until)
        assert refused.value.field == "until"
    assert _hold(until=NOW + YEAR).until == NOW + YEAR


def test_the_audit_event_commits_to_the_reason_and_never_holds_it() -> None:
    hold = _hold(reason="  Kept for the trial:\n  spring.  ")
    [event] = hold.pull_events()
    reason = "Kept for the trial: spring."
    assert hold.reason == reason
    assert event.kind == "evidence.hold_set" and event.actor_id == hold.set_by
    assert event.audit_payload() == {
        "hold_id": str(hold.id), "request_id": str(hold.request_id),
        "agency_id": str(hold.agency_id), "until": hold.until.isoformat(),
        "reason_chars": len(reason),
        "reason_commitment": hashlib.sha256(bytes.fromhex("ab" * 16) + reason.encode())
        .hexdigest()}


def test_a_hold_stands_until_released_or_its_end_date_and_ends_once() -> None:
    hold = _hold()
    assert hold.is_active(NOW) and hold.is_active(hold.until - timedelta(seconds=1))
    assert not hold.is_active(hold.until)
    with pytest.raises(Conflict):  # run to its end: nothing left to release
        hold.release(actor_id=uuid4(), now=hold.until, cause=HoldEnd.RELEASED)
    who = uuid4()
    hold.release(actor_id=who, now=NOW + timedelta(days=2), cause=HoldEnd.CASE_CLOSED)
    assert (hold.released_at, hold.released_by, hold.end_cause) == (
        NOW + timedelta(days=2), who, "case_closed")
    assert not hold.is_active(NOW + timedelta(days=3))
    assert hold.stops_at == NOW + timedelta(days=2)
    assert hold.pull_events()[-1].audit_payload() == {
        "hold_id": str(hold.id), "request_id": str(hold.request_id), "cause": "case_closed"}
    with pytest.raises(Conflict):
        hold.release(actor_id=who, now=NOW + timedelta(days=2), cause=HoldEnd.RELEASED)


def test_the_clock_restarts_from_the_end_of_the_latest_hold_never_earlier() -> None:
    received = NOW - timedelta(days=10)
    assert deletion_date(received, 30, []) == received + timedelta(days=30)
    standing = _hold(until=NOW + timedelta(days=60))
    assert deletion_date(received, 30, [standing]) == NOW + timedelta(days=90)
    early = _hold(until=NOW + timedelta(days=60))
    early.release(actor_id=uuid4(), now=NOW - timedelta(days=9), cause=HoldEnd.RELEASED)
    assert deletion_date(received, 30, [early]) == NOW + timedelta(days=21)  # not earlier
    assert deletion_date(received, 30, [early, standing]) == NOW + timedelta(days=90)


def test_a_case_closes_once_and_only_when_residents_can_no_longer_answer() -> None:
    request = _request()
    with pytest.raises(Conflict):  # awaiting approval
        request.close_case(supervisor_id=uuid4(), now=NOW)
    request.status = RequestStatus.OPEN
    with pytest.raises(Conflict):
        request.close_case(supervisor_id=uuid4(), now=NOW)
    request.status = RequestStatus.CLOSED
    supervisor = uuid4()
    request.close_case(supervisor_id=supervisor, now=NOW)
    assert (request.case_closed_at, request.case_closed_by) == (NOW, supervisor)
    assert request.pull_events()[-1].kind == "request.case_closed"
    with pytest.raises(Conflict):
        request.close_case(supervisor_id=supervisor, now=NOW)


# ---- the use cases: one request with one of ana's clips received ---------------------


@pytest.fixture
def town(clock: FixedClock, tmp_path: Path) -> Town:
    made = build_town(clock, tmp_path)
    made.resident("ana", NEXT_DOOR)
    made.resident("ben", NEXT_DOOR)
    return made


def _share(town: Town, request_id: UUID, who: str = "ana") -> UUID:
    delivery_id = town.delivery_of(who, request_id)
    person = town.residents[who]
    _, shown = answers.disclosure(town.uow, person, delivery_id)
    consent_id = answers.give_consent(town.uow, person, GrantConsent(
        delivery_id, clip_ids=frozenset(c.id for c in shown.clips),
        scope=SharingScope.THIS_AGENCY, share_contact=False, disclosure_sha256=shown.sha256))
    evidence.derive_for_consent(town.uow, town.footage, consent_id, town.workdir / "work")
    return delivery_id


@pytest.fixture
def case(town: Town) -> UUID:
    """A request keeping evidence 30 days, with ana's clip received at T0."""
    town.clip("ana", town.window_start + timedelta(minutes=10))
    town.clip("ben", town.window_start + timedelta(minutes=20))
    request_id = town.open_request(retention_days=30)
    _share(town, request_id)
    return request_id


def _set(town: Town, request_id: UUID, days: float, actor=None) -> UUID:
    return holds.set_hold(town.uow, town.kit.policy, actor or town.supervisor, SetLegalHold(
        request_id, REASON, town.clock.now() + timedelta(days=days)))


def _sweep(town: Town) -> int:
    return retention.expire_due(town.uow)


def _item(town: Town, request_id: UUID):
    with town.uow.reading():
        [item] = town.uow.evidence.for_request(request_id)
        return item


def _at(town: Town, moment: datetime) -> None:
    town.clock.advance(moment - town.clock.now())


def test_an_item_under_a_hold_outlives_its_date_and_the_clock_restarts_at_the_end_date(
    town, case
) -> None:
    start = town.clock.now()
    _at(town, start + timedelta(days=20))
    _set(town, case, 40)  # until day 60: deleted on day 90
    assert _item(town, case).expires_at == start + timedelta(days=90)
    _at(town, start + timedelta(days=31))  # the promised 30 days are over
    assert _sweep(town) == 0
    _at(town, start + timedelta(days=61))  # the hold ran out on day 60; the clock restarted
    assert _sweep(town) == 0
    _at(town, start + timedelta(days=90) - timedelta(seconds=1))
    assert _sweep(town) == 0
    _at(town, start + timedelta(days=90))
    assert _sweep(town) == 1
    assert _item(town, case).purged_at == town.clock.now()


def test_releasing_a_hold_restarts_the_clock_from_the_release(town, case) -> None:
    start = town.clock.now()
    _at(town, start + timedelta(days=25))
    hold_id = _set(town, case, 300)
    _at(town, start + timedelta(days=40))
    holds.release_hold(town.uow, town.supervisor, ReleaseLegalHold(case, hold_id))
    assert _item(town, case).expires_at == start + timedelta(days=70)
    _at(town, start + timedelta(days=69))
    assert _sweep(town) == 0
    _at(town, start + timedelta(days=70))
    assert _sweep(town) == 1
    kinds = town.audit_kinds()
    assert kinds.count("evidence.hold_set") == 1 and kinds.count("evidence.hold_released") == 1
    released = next(e for e in town.uow.audit if e.kind == "evidence.hold_released")
    assert released.audit_payload()["cause"] == "released"
    assert released.actor_id == town.supervisor.id


def test_a_release_soon_after_the_hold_never_shortens_the_promise(town, case) -> None:
    start = town.clock.now()
    _at(town, start + timedelta(days=1))
    hold_id = _set(town, case, 100)
    holds.release_hold(town.uow, town.supervisor, ReleaseLegalHold(case, hold_id))
    assert _item(town, case).expires_at == start + timedelta(days=31)
    with pytest.raises(Conflict):  # once
        holds.release_hold(town.uow, town.supervisor, ReleaseLegalHold(case, hold_id))


def test_closing_the_case_ends_its_holds_and_restarts_the_clock(town, case) -> None:
    start = town.clock.now()
    _set(town, case, 200)
    _set(town, case, 100)  # two matters, two holds: both end with the case
    with pytest.raises(Conflict):  # residents can still answer
        holds.close_case(town.uow, town.supervisor, CloseCase(case))
    _at(town, start + timedelta(days=8))
    assert video_requests.close_due(town.uow) == 1  # the answering time is over
    _at(town, start + timedelta(days=45))
    assert _sweep(town) == 0
    assert holds.close_case(town.uow, town.supervisor, CloseCase(case)) == 2
    assert _item(town, case).expires_at == start + timedelta(days=75)
    with pytest.raises(Conflict):
        _set(town, case, 10)  # a closed case holds nothing
    _at(town, start + timedelta(days=75))
    assert _sweep(town) == 1
    causes = [e.audit_payload()["cause"] for e in town.uow.audit
              if e.kind == "evidence.hold_released"]
    assert causes == ["case_closed", "case_closed"]
    assert "request.case_closed" in town.audit_kinds()


def test_a_withdrawn_request_can_be_held_and_its_case_closed(town, case) -> None:
    video_requests.withdraw(town.uow, town.officer, WithdrawVideoRequest(case))
    _set(town, case, 10)
    assert holds.close_case(town.uow, town.supervisor, CloseCase(case)) == 1


def test_a_copy_made_under_a_hold_gets_the_holds_date(town) -> None:
    start = town.clock.now()
    town.clip("ana", town.window_start + timedelta(minutes=10))
    request_id = town.open_request(retention_days=30)
    _set(town, request_id, 100)
    _share(town, request_id)
    assert _item(town, request_id).expires_at == start + timedelta(days=130)


def test_the_sweep_checks_the_holds_before_it_purges(town, case) -> None:
    """An item whose date missed a hold (copied while the hold was being set, on another
    connection) is not purged under it: the sweep gives it the hold's date instead."""
    start = town.clock.now()
    _set(town, case, 100)
    item_id = _item(town, case).id
    with town.uow:
        town.uow.evidence.get(item_id).expires_at = start + timedelta(days=30)
        town.uow.commit()
    _at(town, start + timedelta(days=31))
    assert _sweep(town) == 0
    assert _item(town, case).expires_at == start + timedelta(days=130)
    assert "evidence.purged" not in town.audit_kinds()


def test_no_hold_where_no_evidence_can_come(town) -> None:
    town.clip("ana", town.window_start + timedelta(minutes=10))
    pending = video_requests.create_request(town.uow, town.kit, town.officer,
                                            CreateVideoRequest(town.draft(radius_m=500)))
    with pytest.raises(Conflict):
        _set(town, pending, 10)


def _other_supervisor(town: Town):
    staff_id = accounts.add_staff(town.uow, SYSTEM, AddStaff(
        town.other_agency_id, "sup@county.example", "County Sup", StaffRole.SUPERVISOR), None)
    with town.uow.reading():
        return town.uow.accounts.get(staff_id)


def test_only_a_supervisor_of_the_agency_sets_releases_or_closes(town, case) -> None:
    hold_id = _set(town, case, 10)
    refusals = [(town.officer, PermissionDenied), (_other_supervisor(town), NotFound),
                (town.residents["ana"], PermissionDenied), (None, NotAuthenticated)]
    for actor, error in refusals:
        with pytest.raises(error):
            holds.set_hold(town.uow, town.kit.policy, actor, SetLegalHold(
                case, REASON, town.clock.now() + timedelta(days=5)))
        with pytest.raises(error):
            holds.release_hold(town.uow, actor, ReleaseLegalHold(case, hold_id))
        with pytest.raises(error):
            holds.close_case(town.uow, actor, CloseCase(case))
    with pytest.raises(NotFound):  # a hold of another case
        holds.release_hold(town.uow, town.supervisor, ReleaseLegalHold(case, uuid4()))
    with town.uow.reading():
        assert len(town.uow.holds.for_request(case)) == 1
    assert town.audit_kinds().count("evidence.hold_set") == 1


def test_the_agency_sees_its_holds_with_the_reason_and_who(town, case) -> None:
    hold_id = _set(town, case, 10)
    seen = holds.case_holds(town.uow, town.kit.policy, town.officer, case)
    [view] = seen.holds
    assert (view.hold.id, view.active, view.hold.reason, view.set_by) == (
        hold_id, True, REASON, town.supervisor.display_name)
    assert seen.may_hold and seen.longest_days == 365
    with pytest.raises(NotFound):
        holds.case_holds(town.uow, town.kit.policy, _other_supervisor(town), case)


def test_the_owner_is_told_of_the_hold_but_not_its_reason(town, case) -> None:
    start = town.clock.now()
    ana, delivery_id = town.residents["ana"], town.delivery_of("ana", case)
    told = holds.copy_for_owner(town.uow, ana, delivery_id)
    assert (told.copies, told.delete_by, told.holds) == (1, start + timedelta(days=30), [])
    _set(town, case, 50)
    told = holds.copy_for_owner(town.uow, ana, delivery_id)
    [notice] = told.holds
    assert (notice.agency, notice.set_by_role, notice.until, notice.active) == (
        "Metro PD", "supervisor", start + timedelta(days=50), True)
    assert told.delete_by == start + timedelta(days=80)
    assert REASON not in repr(told)
    with pytest.raises(NotFound):  # someone else's delivery
        holds.copy_for_owner(town.uow, town.residents["ben"], delivery_id)
    with pytest.raises(PermissionDenied):
        holds.copy_for_owner(town.uow, town.supervisor, delivery_id)
    assert holds.copy_for_owner(town.uow, town.residents["ben"],
                                town.delivery_of("ben", case)) is None  # ben shared nothing
    _at(town, start + timedelta(days=81))
    assert _sweep(town) == 1
    assert holds.copy_for_owner(town.uow, ana, delivery_id) is None  # nothing kept now
