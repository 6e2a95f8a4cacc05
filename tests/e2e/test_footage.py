"""Where is my footage (issue 16 item 5) and answers to deletion requests (item 6), on the
real stack: agency X plays and exports resident A's clip and re-shares it to Y, which
re-shares nothing but plays its copy; A's /footage shows all of it, the JSON download
verifies with `porchlight audit check-footage`, and a bounded number of queries builds
it. A deletion request becomes a task with a due date on X's dashboard, is flagged
overdue on a moved clock, and is answered "deleted" (purged, object gone, owner told) or
"kept" under a named legal hold; the owner sees the answer."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select
from typer.testing import CliRunner

from porchlight.config import Settings
from porchlight.custody.services import footage_map
from porchlight.entrypoints.cli import app as cli
from porchlight.kernel.adapters.db import tables
from tests.e2e.support import Deployment, actor, one_clip, verified_deployment
from tests.e2e.test_reshare import REASON, share_clip

runner = CliRunner()


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return one_clip(tmp_path_factory, "footage")


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return verified_deployment(settings)


def _items(d: Deployment) -> list:
    with d.container.engine.connect() as connection:
        return connection.execute(select(tables.evidence_items)
                                  .order_by(tables.evidence_items.c.received_at)).all()


def _sequence(d: Deployment) -> None:
    d.clock.advance(timedelta(minutes=1))
    d.container.audit_sequencer().run_pass(force=True)


def _share_play_export_reshare(d: Deployment, clip_files: list[Path]):
    """X plays its copy twice and exports it once, then shares it with Y, which plays."""
    shared = share_clip(d, clip_files)
    [original] = _items(d)
    officer = d.signed_in("officer_x")
    for _ in range(2):
        assert officer.get(f"/evidence/{original.id}/video").status_code == 200
    exported = officer.post(f"/evidence/{original.id}/export",
                            headers={"x-csrf-token": officer.csrf()})
    assert exported.status_code == 200, exported.text
    sent = officer.submit(f"/evidence/{original.id}/share",
                          {"to_agency_id": str(d.agency_y), "reason": REASON})
    assert sent.status_code == 303, sent.text
    [copy] = [row for row in _items(d) if row.parent_id is not None]
    assert d.signed_in("officer_y").get(f"/evidence/{copy.id}/video").status_code == 200
    return shared, original, copy


def _copies(page: str) -> list[str]:
    return re.findall(r'<article class="copy[^"]*" data-testid="copy"[^>]*>(.*?)</article>',
                      page, re.S)


def test_the_owner_sees_every_copy_its_use_and_dates_and_the_download_verifies(
    d: Deployment, clip_files: list[Path], tmp_path: Path
) -> None:
    shared, original, copy = _share_play_export_reshare(d, clip_files)
    _sequence(d)
    owner = d.signed_in("resident_a")
    page = owner.get("/footage")
    assert page.status_code == 200
    assert 'href="/footage"' in page.text  # in the resident's navigation
    x_copy, y_copy = _copies(page.text)
    assert "Agency X Police" in x_copy and "you agreed" in x_copy
    assert "Played 2 times" in x_copy and "downloaded 1 time " in x_copy
    assert "Passed on to <strong>Agency Y Sheriff</strong>" in x_copy
    assert 'data-testid="delete-by"' in x_copy
    assert "Agency Y Sheriff" in y_copy and "Passed on by <strong>Agency X Police" in y_copy
    assert REASON in y_copy and "Played 1 time (last" in y_copy
    assert 'class="copy reshared"' in page.text

    document = owner.get("/api/v1/me/footage").json()
    [clip] = document["clips"]
    assert clip["clip_id"] == str(shared.clip_id)
    first, second = clip["copies"]
    assert (first["evidence_id"], second["evidence_id"]) == (str(original.id), str(copy.id))
    assert second["parent_id"] == str(original.id)
    assert first["basis"] == {"kind": "consent", "id": str(shared.consent_id),
                              "scope": "local_or_state", "granted_at": first["basis"]["granted_at"]}
    assert (first["plays"]["count"], first["exports"]["count"]) == (2, 1)
    assert second["received_from"]["agency"] == "Agency X Police"
    assert [s["copy_state"] for s in first["shared_on"]] == ["kept"]
    assert [e["kind"] for e in first["custody"]] == [
        "evidence.received", "evidence.viewed", "evidence.viewed", "evidence.exported",
        "evidence.reshared"]
    assert all(e["proof"] is not None for c in (first, second) for e in c["custody"])

    download = owner.get("/footage.json")
    assert download.headers["content-disposition"].startswith("attachment;")
    path = tmp_path / "my-footage.json"
    path.write_bytes(download.content)
    key = d.container.audit_verifier_key()
    result = runner.invoke(cli, ["audit", "check-footage", str(path), "--key", key])
    assert result.exit_code == 0, result.output
    assert "7 of 7 custody events proven; 0 pending; 0 failed" in result.output

    # a leaf moved to another copy, or a changed proof, fails
    tampered = json.loads(download.content)
    events = tampered["clips"][0]["copies"]
    events[1]["custody"][0]["leaf"] = events[0]["custody"][0]["leaf"]
    path.write_text(json.dumps(tampered))
    result = runner.invoke(cli, ["audit", "check-footage", str(path), "--key", key])
    assert result.exit_code == 1 and "names another evidence item" in result.output
    assert runner.invoke(cli, ["audit", "check-footage", str(path), "--key",
                               "not a key"]).exit_code == 2


def test_the_map_takes_a_bounded_number_of_queries(d: Deployment, clip_files: list[Path]
                                                   ) -> None:
    _share_play_export_reshare(d, clip_files)
    _sequence(d)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    owner = actor(d, "resident_a")
    event.listen(d.container.engine, "before_cursor_execute", count)
    try:
        found = footage_map.footage_map(d.container.uow(), d.container.audit_store(),
                                        owner, answer_days=14)
    finally:
        event.remove(d.container.engine, "before_cursor_execute", count)
    assert len(found.copies) == 2
    # items, consents, requests, agencies, shares, holds, clips, cameras, and the log's
    # checkpoint, cosignatures, events, nodes and size — never one per item
    selects = [s.split("FROM")[-1].split()[0] for s in statements if s.startswith("SELECT")]
    assert len(selects) <= 13, selects  # one per table: none per item


def test_other_residents_see_none_of_it_and_staff_are_refused(
    d: Deployment, clip_files: list[Path]
) -> None:
    share_clip(d, clip_files)
    other = d.signed_in("resident_b")
    assert 'data-testid="no-footage"' in other.get("/footage").text
    assert other.get("/api/v1/me/footage").json()["clips"] == []
    assert d.signed_in("officer_x").get("/api/v1/me/footage").status_code == 403
    assert d.browser().get("/api/v1/me/footage").status_code == 401


def _ask_for_deletion(d: Deployment, clip_files: list[Path]):
    shared = share_clip(d, clip_files)
    [item] = _items(d)
    assert d.signed_in("officer_x").get(f"/evidence/{item.id}/video").status_code == 200
    owner = d.signed_in("resident_a")
    assert owner.submit(f"/inbox/{shared.delivery_id}/revoke",
                        {"confirm": "yes"}).status_code == 409  # opened: too late
    assert owner.submit(f"/inbox/{shared.delivery_id}/deletion").status_code == 303
    return shared, item, owner


def test_a_deletion_request_is_a_task_overdue_then_answered_deleted(
    d: Deployment, clip_files: list[Path]
) -> None:
    shared, item, owner = _ask_for_deletion(d, clip_files)
    officer = d.signed_in("officer_x")
    dashboard = officer.get("/requests").text
    assert 'data-testid="deletion-tasks"' in dashboard and "overdue" not in dashboard
    [task] = officer.get("/api/v1/agency/deletion-requests").json()
    asked = d.clock.now()
    assert task["consent_id"] == str(shared.consent_id) and task["overdue"] is False
    assert task["due"].startswith((asked + timedelta(days=14)).date().isoformat())
    assert "must answer by" in owner.get("/footage").text

    d.clock.advance(timedelta(days=15))
    officer, owner = d.signed_in("officer_x"), d.signed_in("resident_a")  # sessions ended
    assert 'data-testid="overdue"' in officer.get("/requests").text
    assert 'data-testid="overdue"' in officer.get("/deletion-requests").text
    assert "The answer is overdue." in owner.get(f"/inbox/{shared.delivery_id}").text
    refused = officer.submit(f"/deletion-requests/{shared.consent_id}/answer",
                             {"answer": "deleted"})
    assert refused.status_code == 403  # officers do not answer
    assert d.signed_in("officer_y").get("/api/v1/agency/deletion-requests").json() == []

    supervisor = d.signed_in("supervisor_x")
    answered = supervisor.submit(f"/deletion-requests/{shared.consent_id}/answer",
                                 {"answer": "deleted"})
    assert answered.status_code == 303, answered.text
    [row] = _items(d)
    assert row.purged_at is not None and row.wrapped_key is None
    assert row.deletion_answer == "deleted"
    assert not d.container.footage.store.exists(item.object_key)  # the delete job ran
    [mail] = [m for m in d.mailer.sent if "as you asked" in m.subject]
    assert mail.to == "resident_a@example.org"
    with d.container.engine.connect() as connection:
        [payload] = connection.execute(select(tables.audit_events.c.payload).where(
            tables.audit_events.c.kind == "evidence.deletion_answered")).scalars()
    assert payload == {"evidence_id": str(item.id), "agency_id": str(d.agency_x),
                       "answer": "deleted", "hold_id": None}
    page = owner.get("/footage").text
    assert "<strong>deleted</strong>" in page and "The answer came late." in page
    assert "you asked for it" in page
    assert "<strong>deleted</strong>" in owner.get(f"/inbox/{shared.delivery_id}").text
    again = supervisor.post(f"/api/v1/deletion-requests/{shared.consent_id}/answer",
                            json={"answer": "deleted"},
                            headers={"x-csrf-token": supervisor.csrf()})
    assert again.status_code == 409


def test_a_deletion_request_answered_kept_names_an_active_hold(
    d: Deployment, clip_files: list[Path]
) -> None:
    shared, _, owner = _ask_for_deletion(d, clip_files)
    supervisor = d.signed_in("supervisor_x")
    headers = {"x-csrf-token": supervisor.csrf()}
    url = f"/api/v1/deletion-requests/{shared.consent_id}/answer"
    unnamed = supervisor.post(url, json={"answer": "kept"}, headers=headers)
    assert unnamed.status_code == 422
    until = (d.clock.now() + timedelta(days=60)).date().isoformat()
    held = supervisor.submit(f"/requests/{shared.request_id}/holds",
                             {"reason": "Kept for the trial of the garage burglary.",
                              "until": until})
    assert held.status_code == 303, held.text
    [task] = supervisor.get("/api/v1/agency/deletion-requests").json()
    [hold_id] = task["hold_ids"]
    kept = supervisor.post(url, json={"answer": "kept", "hold_id": hold_id}, headers=headers)
    assert kept.status_code == 200, kept.text
    assert kept.json()["answer"] == "kept" and kept.json()["overdue"] is False
    [row] = _items(d)
    assert row.purged_at is None and str(row.deletion_hold_id) == hold_id
    page = owner.get("/footage").text
    assert "<strong>kept under a legal hold</strong> until" in page
    assert 'data-testid="legal-hold"' in page
    [copy] = owner.get("/api/v1/me/footage").json()["clips"][0]["copies"]
    assert copy["deletion_request"]["answer"] == "kept"
    assert copy["deletion_request"]["hold_until"] is not None
