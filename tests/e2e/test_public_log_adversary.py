"""An adversary with only the public audit API, after a scripted neighbourhood's week.

The week: residents sign in (and fail to), register cameras and upload clips; an officer
sends a request that reaches two residents (under the minimum group of five) and one that
reaches six; residents share and decline.  Then, reading nothing but ``/api/v1/audit``
anonymously, the adversary tries to count the small delivery, link two events of one
resident, tell a decline from a share, and place a sign-in finer than a batch.  The ids it
searches for are taken from the database (it is given every id it could learn elsewhere,
which is the strongest version of the attack).  Residents then open their own entries.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from porchlight.audit.services import openings as audit_openings
from porchlight.config import Settings
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.domain.geo import LatLon
from porchlight.requests.domain.consent import SharingScope
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import (
    CreateVideoRequest,
    DeclineRequest,
    GrantConsent,
)
from tests.e2e.support import (
    HOME_A,
    HOME_B,
    Deployment,
    _resident,
    actor,
    add_camera_with_clips,
    build_deployment,
    draft,
)

PAD_TO = 16
NEIGHBOURS = [LatLon(45.5125 + 0.0003 * n, -122.6590 + 0.0002 * n) for n in range(4)]


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("week")
    return [make_demo_clip(folder / f"{n}.mp4", seconds=1, width=160, height=96, seed=n)
            for n in range(2)]


def next_batch(d: Deployment) -> None:
    """The worker's job at the end of the minute: everything queued becomes one batch."""
    d.clock.advance(timedelta(minutes=1))
    d.container.audit_sequencer().run_pass()


def answer(d: Deployment, key: str, request_id: UUID, clip_id: UUID | None) -> None:
    resident = actor(d, key)
    [item] = [i for i in answers.inbox(d.container.uow(), resident)
              if i.delivery.request_id == request_id]
    if clip_id is None:
        answers.decline(d.container.uow(), resident, DeclineRequest(item.delivery.id))
        return
    _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
    answers.give_consent(d.container.uow(), resident, GrantConsent(
        item.delivery.id, clip_ids=frozenset({str(clip_id)}), scope=SharingScope.THIS_AGENCY,
        share_contact=False, disclosure_sha256=shown.sha256))


def sign_in(d: Deployment, key: str, password: str | None = None) -> None:
    browser = d.browser()
    person = d.people[key]
    browser.submit("/signin", {"email": person.email,
                               "password": password or person.password})


def request(d: Deployment) -> UUID:
    return video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                         actor(d, "officer_x"), CreateVideoRequest(draft(d)))


def public_log(client: TestClient) -> list[dict]:
    """Every leaf, decoded, as anyone can fetch it."""
    leaves, start = [], 0
    while True:
        body = client.get("/api/v1/audit/entries", params={"start": start}).json()
        page = body["entries"]
        if not page:
            return leaves
        for entry in page:
            assert "event_id" not in entry  # ids would count and order a batch
            leaves.append(json.loads(base64.b64decode(entry["data"])))
        start += len(page)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory, clip_files: list[Path]) -> dict:
    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("app"))
    d = build_deployment(settings)
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    for n, home in enumerate(NEIGHBOURS):
        d.people[f"neighbour_{n}"] = _resident(d, f"neighbour_{n}", home)
    next_batch(d)
    marks: dict[str, object] = {}

    # Monday: A and B put up cameras with clips of the incident; the rest of the street too.
    clips = {}
    for key, home in (("resident_a", HOME_A), ("resident_b", HOME_B)):
        clips[key] = add_camera_with_clips(d, key, home, clip_files[:1],
                                           [timedelta(hours=2, minutes=50)])[1][0]
    next_batch(d)
    # A small request: it reaches A and B only (under five). A shares, B declines, each
    # in a minute of their own.
    small = request(d)
    marks["small_request"] = str(small)
    next_batch(d)
    answer(d, "resident_a", small, clips["resident_a"])
    next_batch(d)
    marks["decline_batch"] = len(public_log(d.browser()))
    answer(d, "resident_b", small, None)
    next_batch(d)
    marks["quiet_batch"] = len(public_log(d.browser()))
    d.clock.advance(timedelta(seconds=17))
    sign_in(d, "neighbour_0")  # a sign-in and nothing else, at 17 s into its minute
    marks["sign_in_second"] = d.clock.now()
    next_batch(d)

    # Wednesday: the neighbours put up cameras; A and B record again; a request reaches
    # the six of them.
    d.clock.advance(timedelta(days=2))
    for n, home in enumerate(NEIGHBOURS):
        clips[f"neighbour_{n}"] = add_camera_with_clips(
            d, f"neighbour_{n}", home, clip_files[1:],
            [timedelta(hours=2, minutes=50)])[1][0]
    for key, home in (("resident_a", HOME_A), ("resident_b", HOME_B)):
        clips[key] = add_camera_with_clips(d, key, home, clip_files[1:],
                                           [timedelta(hours=2, minutes=40)])[1][0]
    next_batch(d)
    wide = request(d)
    marks["wide_request"] = str(wide)
    next_batch(d)
    answer(d, "neighbour_0", wide, clips["neighbour_0"])
    answer(d, "neighbour_1", wide, None)
    answer(d, "resident_b", wide, clips["resident_b"])
    sign_in(d, "resident_a", "not the password")
    sign_in(d, "resident_a")
    next_batch(d)
    d.clock.advance(timedelta(days=4))
    next_batch(d)
    return {"d": d, "marks": marks, "clips": clips}


def batches(leaves: list[dict]) -> list[list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for leaf in leaves:
        grouped.setdefault(leaf["time"], []).append(leaf)
    return list(grouped.values())


def test_the_small_delivery_cannot_be_counted(week: dict) -> None:
    d = week["d"]
    leaves = public_log(d.browser())
    delivered = [leaf for leaf in leaves if leaf.get("kind") == "request.delivered"]
    assert {leaf["payload"]["residents"] for leaf in delivered} == {"under_5", "6"}
    for batch in batches(leaves):
        commitments = sum(1 for leaf in batch if "commitment" in leaf)
        assert commitments and commitments % PAD_TO == 0  # padded to the quantum
        assert {k for leaf in batch for k in leaf} <= {
            "commitment", "time", "v", "actor", "kind", "payload", "version"}
    [small] = [b for b in batches(leaves)
               if any(leaf.get("payload", {}).get("request_id") == week["marks"]["small_request"]
                      and leaf.get("kind") == "request.delivered" for leaf in b)]
    # Two deliveries: as many commitments as a batch holding one sign-in and nothing else.
    assert sum(1 for leaf in small if "commitment" in leaf) == PAD_TO
    assert not any(leaf.get("kind", "").startswith("delivery.") for leaf in leaves)


def test_no_two_events_of_one_resident_can_be_linked(week: dict) -> None:
    d = week["d"]
    raw = b"".join(base64.b64decode(e["data"]) for e in d.browser().get(
        "/api/v1/audit/entries", params={"start": 0}).json()["entries"])
    leaves = public_log(d.browser())
    everything = json.dumps(leaves)
    with d.container.engine.connect() as connection:
        residents = connection.execute(select(tables.accounts.c.id).where(
            tables.accounts.c.kind == "resident")).scalars().all()
        cameras = connection.execute(select(tables.cameras.c.id)).scalars().all()
        clips = connection.execute(select(tables.clips.c.id)).scalars().all()
        deliveries = connection.execute(select(tables.deliveries.c.id)).scalars().all()
        staff = connection.execute(select(tables.accounts.c.id).where(
            tables.accounts.c.kind != "resident")).scalars().all()
    for private in (*residents, *cameras, *deliveries, *staff):
        assert str(private) not in everything and str(private).encode() not in raw
    # A clip id appears only where an agency received it as evidence (it holds it anyway).
    for clip in clips:
        assert all(leaf.get("kind") in (None, "evidence.received") or str(clip) not in
                   json.dumps(leaf) for leaf in leaves)
    # No value repeats across leaves that could serve as a pseudonym: every commitment,
    # resident events and staff identities alike, is fresh.
    committed = [leaf["commitment"] for leaf in leaves if "commitment" in leaf]
    committed += [leaf["actor"]["commitment"] for leaf in leaves
                  if isinstance(leaf.get("actor"), dict)]
    assert len(committed) == len(set(committed)) > 100
    assert all(re.fullmatch(r"[0-9a-f]{64}", c) for c in committed)
    # evidence of one clip shared twice is not linked by its digests either
    received = [leaf for leaf in leaves if leaf.get("kind") == "evidence.received"]
    assert received and all(isinstance(leaf["payload"]["sha256"], dict) and
                            isinstance(leaf["payload"]["source_sha256"], dict)
                            for leaf in received)


def test_a_decline_cannot_be_told_from_a_share_or_from_silence(week: dict) -> None:
    leaves = public_log(week["d"].browser())
    marks = week["marks"]
    declined = batches(leaves[marks["decline_batch"]:marks["quiet_batch"]])
    shared_at = next(i for i, b in enumerate(batches(leaves))
                     if any(leaf.get("kind") == "evidence.received" for leaf in b))
    [decline_batch] = declined
    # B's decline left only padded commitments: the shape of a minute with one sign-in.
    assert Counter("commitment" in leaf for leaf in decline_batch) == {True: PAD_TO}
    # A's share: commitments of the same shape for the answer; the agency's receipt of
    # evidence is public (what agencies hold is the public's business), not who sent it.
    [received] = [leaf for leaf in batches(leaves)[shared_at]
                  if leaf.get("kind") == "evidence.received"]
    # (legal_demand_id: null here; an item delivered under a legal demand names the demand)
    assert set(received["payload"]) == {"agency_id", "evidence_id", "request_id",
                                        "sha256", "source_sha256", "legal_demand_id"}
    assert received["payload"]["legal_demand_id"] is None
    assert received["actor"] is None
    assert not any(leaf.get("kind", "").startswith(("consent.", "delivery."))
                   for leaf in leaves)


def test_no_leaf_places_anyone_finer_than_a_batch(week: dict) -> None:
    leaves = public_log(week["d"].browser())
    times = {leaf["time"] for leaf in leaves}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", t) for t in times)
    signed_in = week["marks"]["sign_in_second"]
    assert signed_in.second == 17
    assert signed_in.strftime("%Y-%m-%dT%H:%M:17Z") not in json.dumps(leaves)
    # Inside a batch, the order is shuffled: positions say nothing either (checked over
    # the week: public leaves do not all come first or last in their batches).
    positions = {i for b in batches(leaves) for i, leaf in enumerate(b) if "kind" in leaf}
    assert len(positions) > 1


def test_residents_open_and_prove_only_their_own_entries(week: dict) -> None:
    d = week["d"]
    browser_a, browser_b = d.signed_in("resident_a"), d.signed_in("resident_b")
    next_batch(d)
    mine = browser_a.get("/api/v1/me/audit-openings").json()
    theirs = browser_b.get("/api/v1/me/audit-openings").json()
    key = mine["verifier_key"]
    checks = audit_openings.check(mine, key)
    kinds = Counter(c.kind for c in checks)
    assert kinds["camera.registered"] == 3 and kinds["consent.granted"] == 1
    assert kinds["signin.failed"] == 1 and kinds["signin.succeeded"] >= 2
    assert kinds["clip.uploaded"] == 2 and kinds["delivery.created"] == 2
    assert all(c.proven for c in checks)
    entries_a = {e["index"] for e in mine["entries"]}
    entries_b = {e["index"] for e in theirs["entries"]}
    assert entries_a and entries_b and not entries_a & entries_b
    # no global counter in what an opening shows: it would count everyone's events
    assert not any("event_id" in e["event"] for e in (*mine["entries"], *theirs["entries"]))
    assert all(e["event"]["actor_id"] in (str(d.people["resident_b"].id), None)
               for e in theirs["entries"] if e["kind"] != "delivery.created")
    # A changed byte anywhere in an entry fails the check.
    forged = json.loads(json.dumps(mine))
    forged["entries"][0]["opens"] = base64.b64encode(
        base64.b64decode(forged["entries"][0]["opens"]).replace(b'"', b"'", 1)).decode()
    assert not audit_openings.check(forged, key)[0].ok
    # a claimed kind is not believed: what the secret opens is what counts
    relabelled = json.loads(json.dumps(mine))
    relabelled["entries"][0]["kind"] = "clip.viewed"
    assert audit_openings.check(relabelled, key)[0].kind == mine["entries"][0]["kind"]
    page = browser_a.get("/account/audit")
    assert page.status_code == 200 and "consent.granted" in page.text
    assert page.text.count('data-testid="entry-ok"') == len(checks)
    assert d.browser().get("/api/v1/me/audit-openings").status_code == 401


def test_an_agency_opens_its_staff_and_nobody_else_does(week: dict) -> None:
    d = week["d"]
    supervisor = d.signed_in("supervisor_x").get("/api/v1/agency/audit-openings")
    assert supervisor.status_code == 200
    opened = supervisor.json()
    officer = str(d.people["officer_x"].id)
    created = [e for e in opened["entries"] if e["kind"] == "request.created"]
    assert len(created) == 2 and all(e["opens"] == officer and e["slot"] == "actor"
                                     for e in created)
    assert all(c.ok for c in audit_openings.check(opened, opened["verifier_key"]))
    staff_x = {str(d.people[k].id) for k in ("officer_x", "supervisor_x", "admin_x")}
    # who did what for X, and the digests of the evidence X holds; not other agencies'
    # staff, nor X's staff's own sign-ins
    people = [e for e in opened["entries"] if e["slot"] in ("actor", "payload.account_id")]
    digests = [e for e in opened["entries"] if e["slot"] not in ("actor", "payload.account_id")]
    assert {e["opens"] for e in people} <= staff_x
    assert {e["slot"] for e in digests} == {"payload.sha256", "payload.source_sha256"}
    assert all(e["kind"] == "evidence.received" and re.fullmatch(r"[0-9a-f]{64}", e["opens"])
               for e in digests)
    assert d.signed_in("officer_x").get("/api/v1/agency/audit-openings").status_code == 403
    assert d.signed_in("resident_a").get("/api/v1/agency/audit-openings").status_code == 403


def test_forgetting_an_account_makes_its_entries_unopenable_for_ever(week: dict) -> None:
    d = week["d"]
    before = public_log(d.browser())
    person = d.people["neighbour_3"]
    assert d.container.audit_openings(account_id=person.id)["entries"]
    assert d.container.audit_sequencer().forget(person.id) > 0
    assert d.container.audit_openings(account_id=person.id)["entries"] == []
    assert public_log(d.browser())[:len(before)] == before  # the log itself is untouched


def test_every_resident_event_of_the_week_has_someone_who_can_open_it(week: dict) -> None:
    from porchlight.audit.adapters.tables import audit_openings

    d = week["d"]
    with d.container.engine.connect() as connection:
        orphans = connection.execute(
            select(tables.audit_events.c.kind).join(
                audit_openings, audit_openings.c.event_id == tables.audit_events.c.id)
            .where(audit_openings.c.slot == "event", audit_openings.c.account_id.is_(None))
        ).scalars().all()
    assert orphans == []  # clips, deliveries, answers, sign-ins: each names its resident
