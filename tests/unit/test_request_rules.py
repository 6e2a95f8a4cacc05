"""Every scope rule of a video request, and the consent and sharing rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from porchlight.accounts.domain.agencies import Agency, AgencyKind
from porchlight.kernel.domain.errors import Conflict, PolicyRefused, ValidationFailed
from porchlight.kernel.domain.geo import LatLon
from porchlight.requests.domain.consent import Consent, SharingScope, check_choice, may_share_with
from porchlight.requests.domain.requests import (
    IncidentType,
    RequestDraft,
    RequestStatus,
    ScopePolicy,
    VideoRequest,
    check_scope,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HERE = LatLon(45.5, -122.6)
POLICY = ScopePolicy()


def agency(kind: AgencyKind = AgencyKind.MUNICIPAL_POLICE, verified: bool = True) -> Agency:
    made = Agency.create(id=uuid4(), name="Metro PD", kind=kind, center=HERE, radius_m=9000,
                         now=NOW, actor_id=None)
    if verified:
        made.verify(now=NOW, actor_id=None)
    return made


def draft(**changes: object) -> RequestDraft:
    start = NOW - timedelta(days=1)
    base = RequestDraft(
        case_number="24-1187", incident_type=IncidentType.BURGLARY, incident_other=None,
        incident_time=start + timedelta(minutes=30), location=HERE, radius_m=200,
        window_start=start, window_end=start + timedelta(hours=1),
        description="A house on Elm St was broken into between 8 and 9 pm.",
        retention_days=90, sharing_plan=(), contact="Det. Ruiz, 555-0100",
    )
    return replace(base, **changes)


def test_a_small_request_goes_out_on_the_officers_word() -> None:
    decision = check_scope(draft(), agency(), POLICY, NOW)
    assert not decision.needs_supervisor


@pytest.mark.parametrize(("changes", "reasons"), [
    ({"radius_m": 301}, ("radius_over_officer_limit",)),
    ({"window_end": NOW - timedelta(days=1) + timedelta(hours=2, minutes=1)},
     ("window_over_officer_limit",)),
    ({"radius_m": 650, "window_end": NOW - timedelta(days=1) + timedelta(hours=12)},
     ("window_over_officer_limit", "radius_over_officer_limit")),
])
def test_larger_requests_need_a_supervisor(changes: dict, reasons: tuple) -> None:
    decision = check_scope(draft(**changes), agency(), POLICY, NOW)
    assert decision.needs_supervisor and decision.reasons == reasons


@pytest.mark.parametrize(("changes", "rule"), [
    ({"radius_m": 651}, "radius_too_large"),
    ({"window_end": NOW - timedelta(days=1) + timedelta(hours=12, minutes=1)}, "window_too_long"),
    ({"window_start": NOW - timedelta(minutes=30), "incident_time": NOW - timedelta(minutes=10),
      "window_end": NOW + timedelta(minutes=5)}, "window_not_ended"),
    ({"window_start": NOW - timedelta(days=181), "incident_time": NOW - timedelta(days=181),
      "window_end": NOW - timedelta(days=181) + timedelta(hours=1)}, "window_beyond_retention"),
    ({"retention_days": 366}, "retention_too_long"),
    ({"description": "Footage of the protest outside city hall on Saturday."},
     "forbidden_purpose.first_amendment"),
    ({"incident_type": IncidentType.OTHER, "incident_other": "Immigration status check",
      "description": "Looking for a person of interest near the corner store."},
     "forbidden_purpose.immigration_enforcement"),
    ({"description": "ICE asked us to find a man seen near the corner store."},
     "forbidden_purpose.immigration_enforcement"),
])
def test_refusals_name_their_rule(changes: dict, rule: str) -> None:
    with pytest.raises(PolicyRefused) as refused:
        check_scope(draft(**changes), agency(), POLICY, NOW)
    assert refused.value.code == f"policy_refused.{rule}"
    assert refused.value.message


def test_federal_agencies_are_refused_unless_the_deployment_allows() -> None:
    with pytest.raises(PolicyRefused, match="federal"):
        check_scope(draft(), agency(AgencyKind.FEDERAL), POLICY, NOW)
    allowed = replace(POLICY, allow_federal=True)
    assert not check_scope(draft(), agency(AgencyKind.FEDERAL), allowed, NOW).needs_supervisor


def test_unverified_agencies_cannot_send() -> None:
    with pytest.raises(PolicyRefused) as refused:
        check_scope(draft(), agency(verified=False), POLICY, NOW)
    assert refused.value.rule == "agency_not_verified"


def test_ordinary_words_do_not_trip_the_purpose_screen() -> None:
    text = "Black ice caused a hit and run on March 3rd; a silver van left the scene."
    assert not check_scope(draft(description=text), agency(), POLICY, NOW).needs_supervisor


@pytest.mark.parametrize("changes", [
    {"window_end": NOW - timedelta(days=2)},  # ends before it starts
    {"incident_time": NOW - timedelta(days=3)},  # outside the window
    {"description": "too short"},
    {"incident_type": IncidentType.OTHER, "incident_other": None},
    {"case_number": " "},
    {"retention_days": 0},
])
def test_malformed_requests_are_invalid(changes: dict) -> None:
    with pytest.raises(ValidationFailed):
        check_scope(draft(**changes), agency(), POLICY, NOW)


def _request(created_by=None) -> VideoRequest:
    d = draft()
    return VideoRequest(
        id=uuid4(), agency_id=uuid4(), created_by=created_by or uuid4(),
        case_number=d.case_number, incident_type=d.incident_type, incident_other=None,
        incident_time=d.incident_time, lat=HERE.lat, lon=HERE.lon, radius_m=500,
        window_start=d.window_start, window_end=d.window_end, description=d.description,
        retention_days=30, sharing_plan=[], contact=d.contact,
        status=RequestStatus.AWAITING_APPROVAL, created_at=NOW)


def test_a_supervisor_approves_with_a_justification_but_not_their_own() -> None:
    officer = uuid4()
    request = _request(officer)
    with pytest.raises(Conflict):
        request.approve(supervisor_id=officer, justification="x" * 30, now=NOW,
                        deadline=timedelta(days=7))
    with pytest.raises(ValidationFailed):
        request.approve(supervisor_id=uuid4(), justification="ok", now=NOW,
                        deadline=timedelta(days=7))
    request.approve(supervisor_id=uuid4(), justification="Wide area: the suspect fled on foot "
                    "through back yards.", now=NOW, deadline=timedelta(days=7))
    assert request.status is RequestStatus.OPEN and request.deadline == NOW + timedelta(days=7)
    assert not request.close_if_due(NOW + timedelta(days=6))
    assert request.close_if_due(NOW + timedelta(days=7))
    assert request.status is RequestStatus.CLOSED


def test_sharing_stays_inside_the_scope() -> None:
    owner, named_local, other_local = agency(), agency(), agency(AgencyKind.STATE)
    federal_named, federal_other = agency(AgencyKind.FEDERAL), agency(AgencyKind.FEDERAL)
    named = frozenset({named_local.id, federal_named.id})
    cases = {
        SharingScope.THIS_AGENCY: {owner},
        SharingScope.NAMED_AGENCIES: {owner, named_local, federal_named},
        SharingScope.LOCAL_OR_STATE: {owner, named_local, other_local, federal_named},
    }
    everyone = {owner, named_local, other_local, federal_named, federal_other}
    for scope, allowed in cases.items():
        got = {a for a in everyone if may_share_with(scope, owner.id, named, a)}
        assert got == allowed, scope
    assert federal_other not in {a for a in everyone
                                 if may_share_with(SharingScope.LOCAL_OR_STATE, owner.id,
                                                   named, a)}


def test_consent_revocation_only_before_first_opening() -> None:
    def consent() -> Consent:
        return Consent(id=uuid4(), delivery_id=uuid4(), request_id=uuid4(),
                       resident_id=uuid4(), agency_id=uuid4(), clip_ids=["a"],
                       scope="this_agency", share_contact=False, disclosure_sha256="0" * 64,
                       created_at=NOW)
    fresh = consent()
    fresh.revoke(now=NOW, evidence_opened=False)
    assert fresh.revoked_at == NOW
    opened = consent()
    with pytest.raises(Conflict, match="deletion"):
        opened.revoke(now=NOW, evidence_opened=True)
    opened.request_deletion(now=NOW)
    assert opened.deletion_requested_at == NOW
    with pytest.raises(Conflict):
        opened.request_deletion(now=NOW)


def test_only_offered_clips_can_be_chosen() -> None:
    check_choice({"a"}, {"a", "b"})
    with pytest.raises(ValidationFailed):
        check_choice(set(), {"a"})
    with pytest.raises(ValidationFailed):
        check_choice({"c"}, {"a", "b"})


@pytest.mark.parametrize(("count", "shown"), [(0, "under_5"), (4, "under_5"), (5, "5"),
                                              (12, "12")])
def test_published_counts_hide_small_groups(count: int, shown: str) -> None:
    from porchlight.requests.domain.consent import group_count

    assert group_count(count, 5) == shown
