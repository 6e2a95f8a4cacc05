"""Legal demands on the real stack: a platform admin records one on the page (errors beside
their fields, values kept), fulfils it after a confirmation; the job delivers the covered
clip as evidence the agency plays; the owner is told by mail and in the inbox after the
court-ordered delay (the worker's sweep on an injected clock); an emergency left
undocumented is flagged on the admin dashboard until a supervisor documents it."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from porchlight.config import Settings
from porchlight.custody.services import demands
from porchlight.entrypoints.cli import app as cli_app
from tests.e2e.support import (
    HOME_A,
    Deployment,
    add_camera_with_clips,
    one_clip,
    verified_deployment,
)

DOC = "A child was missing; the footage could not wait for a court order."


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return one_clip(tmp_path_factory, "demands")


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return verified_deployment(settings, only_x=True)


def _run_jobs(d: Deployment) -> None:
    while True:
        with d.container.uow().reading() as uow:
            due = [job.id for job in uow.jobs.due(uow.clock.now(), 500)]
        if not due:
            return
        for job_id in due:
            d.container.jobs.run(job_id)


def _local(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _record(d: Deployment, admin, camera_id: UUID, **changes) -> str:
    now = d.clock.now()
    form = {"demand_type": "court_order", "agency_id": str(d.agency_x),
            "court": "Multnomah County Circuit Court", "docket": "26-CR-0042",
            "coverage": "cameras", "camera_ids": str(camera_id),
            "covers_from": _local(now - timedelta(hours=3)),
            "covers_to": _local(now - timedelta(hours=2)), "retention_days": "60", "tz": "UTC"}
    form.update(changes)
    sent = admin.submit("/admin/legal-demands", form)
    assert sent.status_code == 303, sent.text
    return sent.headers["location"]


def test_record_fulfil_deliver_and_tell_after_the_delay(d: Deployment, clip_files) -> None:
    camera_id, [clip_id] = add_camera_with_clips(d, "resident_a", HOME_A, clip_files,
                                                 [timedelta(hours=2, minutes=30)])
    admin = d.signed_in("platform_admin")
    refused = admin.submit("/admin/legal-demands", {
        "demand_type": "subpoena", "agency_id": str(d.agency_x), "court": "",
        "docket": "26-CR-0042", "coverage": "cameras", "camera_ids": str(camera_id),
        "retention_days": "60"})
    assert refused.status_code == 422
    assert re.search(r'id="f-court-error">name the court', refused.text)
    assert 'value="26-CR-0042"' in refused.text  # what was typed is kept
    until = (d.clock.now() + timedelta(days=10)).date()
    page = _record(d, admin, camera_id, notice_delayed_until=until.isoformat())
    demand_id = UUID(page.rsplit("/", 1)[1])
    assert "Fulfil" in admin.get(page).text
    confirm = admin.get(f"{page}/fulfil")
    assert "cannot be undone" in confirm.text
    assert admin.submit(f"{page}/fulfil", {"confirm": "yes"}).status_code == 303
    _run_jobs(d)
    with d.container.uow().reading() as uow:
        [item] = uow.evidence.for_demand(demand_id)
        assert (item.source_clip_id, item.basis) == (clip_id, "legal_demand")
    officer = d.signed_in("officer_x")
    assert officer.get(f"/evidence/{item.id}/video").status_code in (200, 206)
    # the holding agency exports it, with the demand as its basis, and it verifies offline
    assert 'data-testid="export"' in officer.get(f"/legal-demands/{demand_id}").text
    exported = officer.submit(f"/evidence/{item.id}/export")
    assert exported.status_code == 200, exported.text[:300]
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["basis"]["kind"] == "legal_demand"
    assert manifest["basis"]["legal_demand_id"] == str(demand_id)
    assert "26-CR-0042" not in json.dumps(manifest)  # the docket stays in the agency's records
    bundle = d.container.settings.data_dir / "demand-export.zip"
    bundle.write_bytes(exported.content)
    key = d.container.audit_verifier_key()
    checked = CliRunner().invoke(cli_app, ["evidence", "verify", str(bundle), "--key", key])
    assert checked.exit_code == 0, checked.output
    assert "26-CR-0042" in officer.get(f"/legal-demands/{demand_id}").text
    assert d.signed_in("officer_y").get(f"/legal-demands/{demand_id}").status_code == 404
    resident = d.signed_in("resident_a")
    told = [m for m in d.mailer.sent if "covered your footage" in m.subject]
    assert told == [] and "legal-notice" not in resident.get("/inbox").text
    # nor does "where is my footage" tell before the court's delay ends
    assert str(item.id) not in resident.get("/api/v1/me/footage").text
    assert str(item.id) not in resident.get("/footage.json").text
    assert "legal demand" not in resident.get("/footage").text
    d.clock.advance(timedelta(days=11))
    assert demands.send_due_notices(d.container.uow()) == 1
    _run_jobs(d)
    [mail] = [m for m in d.mailer.sent if "covered your footage" in m.subject]
    assert "court order from" in mail.body and "docket 26-CR-0042" in mail.body
    inbox = resident.get("/inbox").text
    assert 'data-testid="legal-notice"' in inbox and "1 clip was disclosed" in inbox
    assert demands.send_due_notices(d.container.uow()) == 0
    # "Where is my footage" lists what left under the demand too
    footage = resident.get("/api/v1/me/footage")
    assert footage.status_code == 200 and str(item.id) in footage.text
    assert "Held under a <strong>legal demand</strong>: a court order" in resident.get(
        "/footage").text


def test_an_undocumented_emergency_is_flagged_on_the_dashboard(d: Deployment,
                                                               clip_files) -> None:
    camera_id, _ = add_camera_with_clips(d, "resident_a", HOME_A, clip_files,
                                         [timedelta(hours=2, minutes=30)])
    admin = d.signed_in("platform_admin")
    page = _record(d, admin, camera_id, demand_type="emergency", court="", docket="")
    demand_id = page.rsplit("/", 1)[1]
    admin.submit(f"{page}/fulfil", {"confirm": "yes"})
    _run_jobs(d)
    assert 'data-testid="overdue-none"' in admin.get("/admin").text
    d.clock.advance(timedelta(hours=48))
    admin = d.signed_in("platform_admin")  # staff and admin sessions end after 30 min idle
    dashboard = admin.get("/admin").text
    assert 'data-testid="overdue-flag"' in dashboard and demand_id in dashboard
    officer = d.signed_in("officer_x")
    assert officer.submit(f"/legal-demands/{demand_id}/documentation",
                          {"documentation": DOC}).status_code == 403
    supervisor = d.signed_in("supervisor_x")
    short = supervisor.submit(f"/legal-demands/{demand_id}/documentation",
                              {"documentation": "short"})
    assert short.status_code == 422 and 'id="f-documentation-error"' in short.text
    assert supervisor.submit(f"/legal-demands/{demand_id}/documentation",
                             {"documentation": DOC}).status_code == 303
    assert 'data-testid="overdue-none"' in admin.get("/admin").text
    _run_jobs(d)
    assert [m for m in d.mailer.sent if "covered your footage" in m.subject]


def test_the_api_records_and_withdraws(d: Deployment, clip_files) -> None:
    camera_id, _ = add_camera_with_clips(d, "resident_a", HOME_A, clip_files,
                                         [timedelta(hours=2, minutes=30)])
    admin = d.signed_in("platform_admin")
    headers = {"x-csrf-token": admin.csrf()}
    now = d.clock.now()
    body = {"demand_type": "warrant", "agency_id": str(d.agency_x), "court": "Circuit",
            "docket": "26-1", "coverage": "cameras", "camera_ids": [str(camera_id)],
            "covers_from": (now - timedelta(hours=3)).isoformat(),
            "covers_to": (now - timedelta(hours=2)).isoformat(), "retention_days": 30}
    made = admin.post("/api/v1/admin/legal-demands", json=body, headers=headers)
    assert made.status_code == 201, made.text
    demand_id = made.json()["id"]
    gone = admin.post(f"/api/v1/admin/legal-demands/{demand_id}/withdraw", json={},
                      headers=headers)
    assert gone.json()["status"] == "withdrawn"
    again = admin.post(f"/api/v1/admin/legal-demands/{demand_id}/fulfil", json={},
                       headers=headers)
    assert again.status_code == 409
    bad = admin.post("/api/v1/admin/legal-demands", json={**body, "retention_days": 9999},
                     headers=headers)
    assert bad.status_code == 422
