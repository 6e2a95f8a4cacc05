"""Video requests through the use cases, on the fakes: the scope rules, approval, delivery
and closing, each with what is stored, audited and queued (or not)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.domain.errors import Conflict, NotFound, PermissionDenied, PolicyRefused
from porchlight.requests.domain.consent import DeliveryStatus
from porchlight.requests.domain.requests import RequestStatus
from porchlight.requests.services import video_requests
from porchlight.requests.services.commands import (
    ApproveVideoRequest,
    CreateVideoRequest,
    WithdrawVideoRequest,
)
from tests.unit.request_setup import ACROSS_TOWN, NEXT_DOOR, Town, build_town


@pytest.fixture
def town(clock: FixedClock, tmp_path: Path) -> Town:
    return build_town(clock, tmp_path)


def _jobs(town: Town) -> list[str]:
    return [job.key.split(":")[0] for job in town.uow.woken]


def test_a_request_within_the_officers_limits_opens_at_once_and_queues_its_delivery(
        town: Town) -> None:
    request_id = video_requests.create_request(town.uow, town.kit, town.officer,
        CreateVideoRequest(town.draft()))
    with town.uow.reading():
        request = town.uow.requests.get(request_id)
    assert request.status is RequestStatus.OPEN
    assert request.deadline == town.clock.now() + town.kit.policy.response_deadline
    assert [job.key for job in town.uow.woken] == [f"request.deliver:{request_id}"]
    assert town.audit_kinds()[-2:] == ["request.created", "request.approved"]


@pytest.mark.parametrize(("changes", "rule"), [
    ({"window_hours": 12.5}, "window_too_long"),
    ({"radius_m": 651}, "radius_too_large"),
    ({"description": "Looking for people at the protest march on Main St last night."},
     "forbidden_purpose.first_amendment"),
    ({"description": "Locate an undocumented worker for ICE at the address on Elm St."},
     "forbidden_purpose.immigration_enforcement"),
    ({"retention_days": 366}, "retention_too_long"),
    ({"window_ends_in_the_future": True}, "window_not_ended"),
])
def test_a_request_beyond_the_scope_rules_is_refused_stores_nothing_and_is_audited(
        town: Town, changes: dict, rule: str) -> None:
    draft = _draft(town, dict(changes))
    with pytest.raises(PolicyRefused) as refused:
        video_requests.create_request(town.uow, town.kit, town.officer, CreateVideoRequest(draft))
    assert refused.value.rule == rule
    assert town.uow.tables["requests"] == {} and town.uow.woken == []
    refusal = town.uow.audit[-1]
    assert (refusal.kind, refusal.actor_id, refusal.reason) == (
        "request.refused", town.officer.id, rule)


def _draft(town: Town, changes: dict):
    start = town.window_start
    if changes.pop("window_hours", None) is not None:
        start = town.clock.now() - timedelta(hours=13)
        changes.update(window_start=start, window_end=start + timedelta(hours=12.5),
                       incident_time=start + timedelta(hours=1))
    if changes.pop("window_ends_in_the_future", None):
        changes.update(window_start=town.clock.now() - timedelta(minutes=30),
                       window_end=town.clock.now() + timedelta(minutes=30),
                       incident_time=town.clock.now() - timedelta(minutes=10))
    return town.draft(**changes)


def test_the_limits_are_inclusive_a_request_at_the_supervisor_cap_is_accepted(
        town: Town) -> None:
    start = town.clock.now() - timedelta(hours=13)
    request_id = video_requests.create_request(town.uow, town.kit, town.officer,
        CreateVideoRequest(town.draft(
        radius_m=650, window_start=start, window_end=start + timedelta(hours=12),
        incident_time=start + timedelta(hours=1))))
    with town.uow.reading():
        assert town.uow.requests.get(request_id).status is RequestStatus.AWAITING_APPROVAL


@pytest.mark.parametrize("changes", [
    {"radius_m": 301},
    {"window_start_hours_before_end": 2.5},
])
def test_beyond_the_officers_limits_waits_for_a_supervisor_and_delivers_nothing_until(
        town: Town, changes: dict) -> None:
    town.resident("ana")
    town.clip("ana", town.window_start + timedelta(minutes=30))
    if changes.pop("window_start_hours_before_end", None):
        end = town.window_start + timedelta(hours=1)
        changes.update(window_start=end - timedelta(hours=2.5))
    request_id = video_requests.create_request(town.uow, town.kit, town.officer,
                                               CreateVideoRequest(town.draft(**changes)))
    assert town.uow.woken == []  # no delivery job before approval
    assert video_requests.deliver(town.uow, town.kit, request_id) == 0  # even if run
    with pytest.raises(PermissionDenied):
        video_requests.approve(town.uow, town.kit, town.officer, ApproveVideoRequest(request_id,
                               "The suspect fled on foot through the neighbourhood."))
    assert town.uow.woken == []
    video_requests.approve(town.uow, town.kit, town.supervisor, ApproveVideoRequest(request_id,
                           "The suspect fled on foot through the neighbourhood."))
    assert _jobs(town) == ["request.deliver"]
    assert video_requests.deliver(town.uow, town.kit, request_id) == 1
    with town.uow.reading():
        request = town.uow.requests.get(request_id)
    assert request.status is RequestStatus.OPEN and request.approved_by == town.supervisor.id


def test_approval_needs_a_written_justification_and_changes_nothing_without_it(
        town: Town) -> None:
    request_id = video_requests.create_request(town.uow, town.kit, town.officer,
                                               CreateVideoRequest(town.draft(radius_m=400)))
    before = list(town.uow.audit)
    with pytest.raises(Exception, match="justification"):
        video_requests.approve(town.uow, town.kit, town.supervisor,
            ApproveVideoRequest(request_id, "ok"))
    with town.uow.reading():
        assert town.uow.requests.get(request_id).status is RequestStatus.AWAITING_APPROVAL
    assert town.uow.audit == before and town.uow.woken == []


def test_a_supervisor_cannot_approve_their_own_request(town: Town) -> None:
    request_id = video_requests.create_request(town.uow, town.kit, town.supervisor,
                                               CreateVideoRequest(town.draft(radius_m=400)))
    with pytest.raises(Conflict, match="their own"):
        video_requests.approve(town.uow, town.kit, town.supervisor, ApproveVideoRequest(request_id,
                               "The suspect fled on foot through the neighbourhood."))


def test_staff_of_another_agency_are_told_the_request_does_not_exist(town: Town) -> None:
    request_id = video_requests.create_request(town.uow, town.kit, town.officer,
                                               CreateVideoRequest(town.draft(radius_m=400)))
    with town.uow:
        outsider = town.uow.accounts.get(town.supervisor.id)
    outsider.agency_id = town.other_agency_id  # a detached copy: nothing stored changes
    with pytest.raises(NotFound):
        video_requests.approve(town.uow, town.kit, outsider, ApproveVideoRequest(request_id,
                               "The suspect fled on foot through the neighbourhood."))
    with pytest.raises(NotFound):
        video_requests.get_request(town.uow, outsider, request_id)


def test_delivery_reaches_opted_in_cameras_in_range_with_footage_in_the_window_once(
        town: Town) -> None:
    start = town.window_start
    for name, at, opted_in, recorded in [
        ("ana", NEXT_DOOR, True, start + timedelta(minutes=20)),  # reached
        ("ben", NEXT_DOOR, False, start + timedelta(minutes=20)),  # opted out
        ("cy", ACROSS_TOWN, True, start + timedelta(minutes=20)),  # out of range
        ("di", NEXT_DOOR, True, start - timedelta(seconds=12)),  # ends as the window starts
        ("ed", NEXT_DOOR, True, start - timedelta(seconds=6)),  # runs into it: reached
        ("fay", NEXT_DOOR, True, None),  # no footage at all
        ("gus", NEXT_DOOR, True, start + timedelta(minutes=5)),  # shredded below
    ]:
        town.resident(name, at, opted_in=opted_in)
        if recorded is not None:
            town.clip(name, recorded)
    with town.uow:
        [gus_clip] = town.uow.clips.list_for_camera(town.cameras["gus"])
        gus_clip.shred(reason="owner_deleted", actor_id=None)
        town.uow.commit()
    request_id = video_requests.create_request(town.uow, town.kit, town.officer,
        CreateVideoRequest(town.draft()))
    assert video_requests.deliver(town.uow, town.kit, request_id) == 2
    reached = {d.resident_id for d in town.uow.tables["deliveries"].values()}
    assert reached == {town.residents["ana"].id, town.residents["ed"].id}
    assert video_requests.deliver(town.uow, town.kit, request_id) == 0  # a retried job
    assert len(town.uow.tables["deliveries"]) == 2
    assert _jobs(town).count("mail.request_notice") == 2
    with town.uow.reading():
        assert all(d.status is DeliveryStatus.WAITING
                   for d in town.uow.deliveries.for_request(request_id))


def test_a_resident_who_opts_out_before_the_job_runs_is_not_reached(town: Town) -> None:
    ana = town.resident("ana")
    town.clip("ana", town.window_start + timedelta(minutes=20))
    request_id = video_requests.create_request(town.uow, town.kit, town.officer,
        CreateVideoRequest(town.draft()))
    with town.uow:
        town.uow.cameras.get(town.cameras["ana"]).opted_in = False
        town.uow.commit()
    assert video_requests.deliver(town.uow, town.kit, request_id) == 0
    assert not [d for d in town.uow.tables["deliveries"].values() if d.resident_id == ana.id]


def test_a_resident_who_opts_out_while_the_job_searches_is_not_reached(
        town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    """The search runs in a snapshot; an opt-out committed before the write is honoured."""
    town.resident("ana")
    town.clip("ana", town.window_start + timedelta(minutes=20))
    request_id = video_requests.create_request(town.uow, town.kit, town.officer,
        CreateVideoRequest(town.draft()))
    search = video_requests._cameras_with_footage

    def opted_out_meanwhile(uow, request):
        found = search(uow, request)
        town.uow.tables["cameras"][town.cameras["ana"]].opted_in = False  # another commit
        return found

    monkeypatch.setattr(video_requests, "_cameras_with_footage", opted_out_meanwhile)
    assert video_requests.deliver(town.uow, town.kit, request_id) == 0
    assert town.uow.tables["deliveries"] == {}


def test_a_withdrawn_request_delivers_nothing_and_mails_no_one(town: Town) -> None:
    town.resident("ana")
    town.clip("ana", town.window_start + timedelta(minutes=20))
    request_id = video_requests.create_request(town.uow, town.kit, town.officer,
        CreateVideoRequest(town.draft()))
    assert video_requests.deliver(town.uow, town.kit, request_id) == 1
    video_requests.withdraw(town.uow, town.officer, WithdrawVideoRequest(request_id))
    assert video_requests.deliver(town.uow, town.kit, request_id) == 0
    assert not video_requests.send_request_notice(town.uow, town.kit,
                                                  town.delivery_of("ana", request_id))
    assert town.mailer.sent == []


def test_the_request_notice_is_sent_once_however_often_its_job_runs(town: Town) -> None:
    town.resident("ana")
    town.clip("ana", town.window_start + timedelta(minutes=20))
    request_id = town.open_request()
    delivery_id = town.delivery_of("ana", request_id)
    assert video_requests.send_request_notice(town.uow, town.kit, delivery_id)
    assert not video_requests.send_request_notice(town.uow, town.kit, delivery_id)
    assert [(m.to, m.key) for m in town.mailer.sent] == [
        ("ana@example.org", f"request-notice.{delivery_id}")]


def test_a_request_closes_at_its_deadline_not_before(town: Town) -> None:
    request_id = video_requests.create_request(town.uow, town.kit, town.officer,
        CreateVideoRequest(town.draft()))
    town.clock.advance(town.kit.policy.response_deadline - timedelta(seconds=1))
    assert video_requests.close_due(town.uow) == 0
    town.clock.advance(timedelta(seconds=1))
    assert video_requests.close_due(town.uow) == 1
    assert video_requests.close_due(town.uow) == 0
    with town.uow.reading():
        request = town.uow.requests.get(request_id)
    assert request.status is RequestStatus.CLOSED and request.closed_at == town.clock.now()
    assert town.audit_kinds()[-1] == "request.closed"
