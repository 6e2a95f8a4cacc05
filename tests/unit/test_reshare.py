"""Re-sharing evidence inside the owner's consent: the scope matrix (every scope x kind x
named or not), the copy's deletion date, and the use cases on the fakes — a share and its
copy job (run twice, and killed half-way), refusals audited and changing nothing, the
owner's notice, revocation, retention on a moved clock, and re-sharing a re-share."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from porchlight.accounts.domain.accounts import StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import AddStaff, CreateAgency, VerifyAgency
from porchlight.custody.domain.reshare import (
    EvidenceShare,
    Refusal,
    copy_deletion_date,
    may_reshare,
    promised_date,
    reshare_refusal,
)
from porchlight.custody.services import evidence, holds, reshare, retention
from porchlight.custody.services.commands import ReshareEvidence, SetLegalHold
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.domain.errors import NotFound, PermissionDenied, PolicyRefused
from porchlight.kernel.domain.policies import SYSTEM
from porchlight.requests.domain.consent import SharingScope
from porchlight.requests.services import answers
from porchlight.requests.services.commands import GrantConsent, RevokeConsent
from tests.unit.request_setup import HOME, NEXT_DOOR, Town, build_town

REASON = "The county task force is investigating the same burglary series."

# ---- the scope matrix ------------------------------------------------------------------

LOCAL = {AgencyKind.MUNICIPAL_POLICE, AgencyKind.COUNTY_SHERIFF, AgencyKind.STATE,
         AgencyKind.FIRE_EMS}


def _expected(scope: SharingScope, kind: AgencyKind, named: bool) -> Refusal | None:
    """The rule, written out as the table in custody.domain.reshare states it."""
    if scope is SharingScope.THIS_AGENCY:
        return Refusal.OUTSIDE_SCOPE
    if kind is AgencyKind.FEDERAL:
        return None if named else Refusal.FEDERAL_NOT_NAMED
    if named:
        return None
    if scope is SharingScope.LOCAL_OR_STATE and kind in LOCAL:
        return None
    return Refusal.OUTSIDE_SCOPE


@pytest.mark.parametrize("named", [True, False], ids=["named", "not_named"])
@pytest.mark.parametrize("kind", list(AgencyKind))
@pytest.mark.parametrize("scope", list(SharingScope))
def test_the_scope_matrix(scope: SharingScope, kind: AgencyKind, named: bool) -> None:
    got = reshare_refusal(scope, kind, named=named)
    assert got is _expected(scope, kind, named)
    assert may_reshare(scope, kind, named=named) is (got is None)


def test_the_matrix_in_words() -> None:
    """The cases that matter most, spelled out."""
    assert not may_reshare(SharingScope.THIS_AGENCY, AgencyKind.COUNTY_SHERIFF, named=True)
    assert not may_reshare(SharingScope.NAMED_AGENCIES, AgencyKind.STATE, named=False)
    assert may_reshare(SharingScope.NAMED_AGENCIES, AgencyKind.FEDERAL, named=True)
    assert not may_reshare(SharingScope.LOCAL_OR_STATE, AgencyKind.FEDERAL, named=False)
    assert may_reshare(SharingScope.LOCAL_OR_STATE, AgencyKind.FIRE_EMS, named=False)
    assert not may_reshare(SharingScope.LOCAL_OR_STATE, AgencyKind.OTHER, named=False)
    assert may_reshare(SharingScope.LOCAL_OR_STATE, AgencyKind.OTHER, named=True)


@pytest.mark.parametrize("scope", list(SharingScope))
def test_whatever_the_scope_not_unverified_not_itself_not_a_purged_item(scope) -> None:
    kind = AgencyKind.MUNICIPAL_POLICE
    assert reshare_refusal(scope, kind, named=True, verified=False) is Refusal.NOT_VERIFIED
    assert reshare_refusal(scope, kind, named=True, same_agency=True) is Refusal.SAME_AGENCY
    assert reshare_refusal(scope, kind, named=True, purged=True) is Refusal.EVIDENCE_PURGED


# ---- the use cases on the fakes --------------------------------------------------------


@pytest.fixture
def town(clock: FixedClock, tmp_path: Path) -> Town:
    made = build_town(clock, tmp_path)
    made.resident("ana", NEXT_DOOR)
    return made


def _agency(town: Town, name: str, kind: AgencyKind, *, verified: bool = True) -> UUID:
    agency_id = accounts.create_agency(town.uow, SYSTEM, CreateAgency(name, kind, HOME, 5000))
    if verified:
        accounts.verify_agency(town.uow, SYSTEM, VerifyAgency(agency_id))
    return agency_id


def _staff(town: Town, agency_id: UUID, role: StaffRole = StaffRole.OFFICER):
    staff_id = accounts.add_staff(town.uow, SYSTEM, AddStaff(
        agency_id, f"{uuid4().hex[:8]}@other.example", "Other Officer", role), None)
    with town.uow.reading():
        return town.uow.accounts.get(staff_id)


def _evidence(town: Town, scope: SharingScope, plan: tuple[UUID, ...] = ()) -> UUID:
    """Ana shares one clip with Metro PD's request under ``scope``; the copy is derived."""
    town.clip("ana", town.window_start + timedelta(minutes=10))
    request_id = town.open_request(sharing_plan=plan)
    delivery_id = town.delivery_of("ana", request_id)
    _, shown = answers.disclosure(town.uow, town.residents["ana"], delivery_id)
    consent_id = answers.give_consent(town.uow, town.residents["ana"], GrantConsent(
        delivery_id, clip_ids=frozenset(c.id for c in shown.clips), scope=scope,
        share_contact=False, disclosure_sha256=shown.sha256))
    evidence.derive_for_consent(town.uow, town.footage, consent_id, town.workdir / "ev")
    [item] = evidence.agency_evidence(town.uow, town.officer, request_id)
    return item.id


def _share(town: Town, item_id: UUID, to: UUID, who=None, **changes) -> UUID:
    return reshare.reshare(town.uow, who or town.officer,
                           ReshareEvidence(item_id, to, changes.pop("reason", REASON),
                                           **changes))


def _copy(town: Town, share_id: UUID) -> bool:
    return reshare.make_copy(town.uow, town.footage, share_id, town.workdir / "ev")


def _rows(town: Town) -> dict:
    return {key: (item.agency_id, item.expires_at, item.purged_at, item.wrapped_key)
            for key, item in town.uow.tables["evidence"].items()}


def _get(town: Town, evidence_id: UUID):
    with town.uow.reading():
        return town.uow.evidence.get(evidence_id)


def test_a_share_makes_a_copy_the_destination_reads_and_the_owner_hears_of(town) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    sheriff = town.other_agency_id
    share_id = _share(town, item_id, sheriff)
    assert [j.key for j in town.uow.woken if j.kind in ("evidence.reshare",
                                                        "mail.evidence_reshared")] == [
        f"evidence.reshare:{share_id}", f"mail.evidence_reshared:{share_id}"]
    assert _get(town, share_id) is None  # the copy is the job's work, not the request's
    assert _copy(town, share_id) and not _copy(town, share_id)  # once, however often run
    parent, copy = _get(town, item_id), _get(town, share_id)
    assert (copy.agency_id, copy.parent_id, copy.consent_id) == (sheriff, item_id,
                                                                  parent.consent_id)
    assert copy.source_clip_id == parent.source_clip_id and copy.sha256 == parent.sha256
    assert copy.object_key != parent.object_key and copy.wrapped_key != parent.wrapped_key
    assert copy.expires_at == parent.received_at + timedelta(days=90) == parent.expires_at
    deputy = _staff(town, sheriff)
    opened, key = evidence.open_evidence(town.uow, town.footage, deputy, share_id, record=True)
    assert b"".join(town.store.read(opened.object_key, key, 0, opened.size_bytes)) == b"".join(
        town.store.read(parent.object_key, town.footage.vault.open(
            parent.wrapped_key, context=f"evidence:{item_id}".encode()), 0, parent.size_bytes))
    with pytest.raises(NotFound):  # the origin's staff do not open the sheriff's copy
        evidence.open_evidence(town.uow, town.footage, town.officer, share_id, record=False)
    [received] = reshare.received_evidence(town.uow, deputy)
    assert (received.item.id, received.from_agency, received.reason) == (
        share_id, "Metro PD", REASON)
    assert evidence.agency_evidence(town.uow, town.officer, parent.request_id)[0].id == item_id
    assert reshare.tell_owner(town.uow, town.mailer, "https://p.test", share_id)
    [mail] = [m for m in town.mailer.sent if "shared your footage" in m.subject]
    assert mail.to == "ana@example.org" and "County Sheriff" in mail.body
    assert REASON in mail.body and mail.key.startswith("evidence-reshared.")
    [notice] = reshare.shares_for_owner(town.uow, town.residents["ana"],
                                        town.delivery_of("ana", parent.request_id))
    assert (notice.to_agency, notice.reason, notice.copy_state) == (
        "County Sheriff", REASON, "kept")


def test_the_audit_event_is_public_and_commits_to_the_reason(town) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    share_id = _share(town, item_id, town.other_agency_id)
    [event] = [e for e in town.uow.audit if e.kind == "evidence.reshared"]
    with town.uow.reading():
        nonce = town.uow.shares.get(share_id).reason_nonce
    payload = event.audit_payload()
    assert payload["reason_chars"] == len(REASON) and REASON not in str(payload)
    assert payload["reason_commitment"] == hashlib.sha256(
        bytes.fromhex(nonce) + REASON.encode()).hexdigest()
    assert payload["from_agency_id"] == str(town.agency_id)
    assert payload["to_agency_id"] == str(town.other_agency_id)
    assert payload["evidence_id"] == str(item_id) and payload["share_id"] == str(share_id)


@pytest.mark.parametrize(("scope", "kind", "named", "verified", "code"), [
    (SharingScope.THIS_AGENCY, AgencyKind.COUNTY_SHERIFF, True, True, "outside_consent_scope"),
    (SharingScope.NAMED_AGENCIES, AgencyKind.STATE, False, True, "outside_consent_scope"),
    (SharingScope.LOCAL_OR_STATE, AgencyKind.FEDERAL, False, True, "federal_not_named"),
    (SharingScope.LOCAL_OR_STATE, AgencyKind.STATE, False, False, "agency_not_verified"),
])
def test_a_refusal_is_audited_and_changes_nothing(town, scope, kind, named, verified,
                                                  code) -> None:
    destination = _agency(town, "Destination", kind, verified=verified)
    plan = (town.other_agency_id, destination) if named else (town.other_agency_id,)
    if named and not verified:
        plan = (town.other_agency_id,)
    item_id = _evidence(town, scope, plan)
    before = (_rows(town), len(town.uow.woken))
    with pytest.raises(PolicyRefused) as refused:
        _share(town, item_id, destination)
    assert refused.value.code == f"policy_refused.{code}"
    assert refused.value.field == "to_agency_id"
    assert town.uow.tables["shares"] == {}
    assert (_rows(town), len(town.uow.woken)) == before
    [event] = [e for e in town.uow.audit if e.kind == "evidence.reshare_refused"]
    assert event.audit_payload() == {"evidence_id": str(item_id),
                                     "from_agency_id": str(town.agency_id),
                                     "to_agency_id": str(destination), "reason": code}


def test_named_federal_agency_under_named_scope_is_allowed(town) -> None:
    federal = _agency(town, "Federal Bureau", AgencyKind.FEDERAL)
    item_id = _evidence(town, SharingScope.NAMED_AGENCIES, (federal,))
    assert _copy(town, _share(town, item_id, federal))


def test_only_staff_of_the_holding_agency_share(town) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    deputy = _staff(town, town.other_agency_id)
    with pytest.raises(NotFound):
        _share(town, item_id, town.other_agency_id, who=deputy)
    with pytest.raises(PermissionDenied):
        _share(town, item_id, town.other_agency_id, who=town.residents["ana"])
    with pytest.raises(PolicyRefused, match="holds this evidence already"):
        _share(town, item_id, town.agency_id)
    with pytest.raises(PolicyRefused, match="no such agency"):
        _share(town, item_id, uuid4())
    assert town.uow.tables["shares"] == {}


def test_the_same_agency_does_not_get_two_copies(town) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    _share(town, item_id, town.other_agency_id)  # its copy still pending
    with pytest.raises(PolicyRefused) as refused:
        _share(town, item_id, town.other_agency_id)
    assert refused.value.code == "policy_refused.already_held"


def test_a_re_share_is_checked_against_the_same_consent_and_never_outlives_its_parent(
    town, clock: FixedClock
) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    first = _share(town, item_id, town.other_agency_id, until=clock.now() + timedelta(days=30))
    _copy(town, first)
    state = _agency(town, "State Police", AgencyKind.STATE)
    federal = _agency(town, "Federal Bureau", AgencyKind.FEDERAL)
    deputy = _staff(town, town.other_agency_id)
    with pytest.raises(PolicyRefused, match="federal"):
        _share(town, first, federal, who=deputy)
    with pytest.raises(PolicyRefused, match="holds, or is being sent"):  # back to Metro PD
        _share(town, first, town.agency_id, who=deputy)
    second = _share(town, first, state, who=deputy, until=clock.now() + timedelta(days=300))
    _copy(town, second)
    assert _get(town, first).expires_at == clock.now() + timedelta(days=30)
    assert _get(town, second).expires_at == _get(town, first).expires_at  # clamped
    assert _get(town, second).parent_id == first


def test_the_copys_date_is_the_promise_never_a_hold(town, clock: FixedClock) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    parent = _get(town, item_id)
    holds.set_hold(town.uow, town.kit.policy, town.supervisor, SetLegalHold(
        parent.request_id, "Kept for the trial next spring.", clock.now() + timedelta(days=200)))
    assert _get(town, item_id).expires_at > parent.expires_at
    share_id = _share(town, item_id, town.other_agency_id)
    _copy(town, share_id)
    assert _get(town, share_id).expires_at == parent.received_at + timedelta(days=90)
    assert promised_date(_get(town, item_id), 90) == parent.received_at + timedelta(days=90)
    assert copy_deletion_date(parent.expires_at, None) == parent.expires_at
    # the case's holds change: the copy's date does not follow them
    holds.set_hold(town.uow, town.kit.policy, town.supervisor, SetLegalHold(
        parent.request_id, "Kept for the appeal as well.", clock.now() + timedelta(days=300)))
    assert _get(town, share_id).expires_at == parent.received_at + timedelta(days=90)
    # the sweep: a day past the copy's date it is gone; the held original stays
    clock.advance(parent.received_at + timedelta(days=91) - clock.now())
    assert retention.expire_due(town.uow) == 1
    assert not _get(town, share_id).is_readable and _get(town, item_id).is_readable


def test_retention_purges_the_copy_at_its_own_earlier_date(town, clock: FixedClock) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    share_id = _share(town, item_id, town.other_agency_id, until=clock.now() + timedelta(days=10))
    _copy(town, share_id)
    clock.advance(timedelta(days=10, minutes=-1))
    assert retention.expire_due(town.uow) == 0
    clock.advance(timedelta(days=1))
    assert retention.expire_due(town.uow) == 1
    assert not _get(town, share_id).is_readable and _get(town, item_id).is_readable
    assert retention.tell_owner(town.uow, town.mailer, share_id)
    assert "County Sheriff deleted its copy" in town.mailer.sent[-1].subject
    clock.advance(timedelta(days=80))
    assert retention.expire_due(town.uow) == 1  # the original, at its own date
    with pytest.raises(PolicyRefused, match="deleted"):
        _share(town, item_id, _agency(town, "State Police", AgencyKind.STATE))


def test_revoking_consent_destroys_the_copies_too_and_stops_pending_ones(town) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    made = _share(town, item_id, town.other_agency_id)
    _copy(town, made)
    state = _agency(town, "State Police", AgencyKind.STATE)
    pending = _share(town, item_id, state)
    copy_key = _get(town, made).object_key
    delivery_id = town.delivery_of("ana", _get(town, item_id).request_id)
    answers.revoke_consent(town.uow, town.store, town.residents["ana"],
                           RevokeConsent(delivery_id))
    assert not _get(town, item_id).is_readable and not _get(town, made).is_readable
    assert not town.store.exists(copy_key)
    assert not _copy(town, pending) and _get(town, pending) is None
    assert not town.store.staged
    states = {n.to_agency: n.copy_state for n in reshare.shares_for_owner(
        town.uow, town.residents["ana"], delivery_id)}
    assert states == {"County Sheriff": "deleted", "State Police": "not_made"}


def test_an_opened_copy_ends_the_right_to_revoke(town) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    share_id = _share(town, item_id, town.other_agency_id)
    _copy(town, share_id)
    evidence.open_evidence(town.uow, town.footage, _staff(town, town.other_agency_id),
                           share_id, record=True)
    delivery_id = town.delivery_of("ana", _get(town, item_id).request_id)
    assert answers.my_consent(town.uow, town.residents["ana"], delivery_id).evidence_opened


def test_a_copy_job_killed_half_way_is_finished_by_its_retry(town) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    share_id = _share(town, item_id, town.other_agency_id)
    town.store.fail_publishes.add(f"{share_id}.video")
    with pytest.raises(OSError):
        _copy(town, share_id)
    assert _get(town, share_id) is None and not town.store.staged
    town.store.fail_publishes.clear()
    assert _copy(town, share_id) and _get(town, share_id).is_readable
    keys = [k for k in town.store.objects if str(share_id) in k]
    assert len(keys) == 1


def test_a_share_needs_a_reason_and_a_future_date(town, clock: FixedClock) -> None:
    item_id = _evidence(town, SharingScope.LOCAL_OR_STATE)
    for reason in ("", "too short"):
        with pytest.raises(Exception) as refused:
            _share(town, item_id, town.other_agency_id, reason=reason)
        assert refused.value.field == "reason"
    with pytest.raises(Exception) as refused:
        _share(town, item_id, town.other_agency_id, until=clock.now())
    assert refused.value.field == "until"
    assert town.uow.tables["shares"] == {}


def test_share_entity_terms() -> None:
    assert {f for f in EvidenceShare.__dataclass_fields__} >= {
        "evidence_id", "consent_id", "from_agency_id", "to_agency_id", "reason", "expires_at"}
