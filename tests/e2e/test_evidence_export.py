"""The evidence locker export (issue 16 item 1): the ZIP, its custody chain with proofs,
`porchlight evidence verify`, and every export and refusal audited."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from porchlight import bootstrap
from porchlight.audit.adapters.http import HttpAuditLogSource
from porchlight.audit.domain import Checkpoint, CosignatureSigner, NoteSigner
from porchlight.audit.services.queries import parse_note
from porchlight.config import Settings
from porchlight.custody.services import evidence
from porchlight.entrypoints.cli import app as cli
from porchlight.kernel.adapters.db import tables
from tests.e2e.support import Deployment, one_clip, verified_deployment
from tests.e2e.test_video_requests import share_one_clip

runner = CliRunner()


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return one_clip(tmp_path_factory, "export")


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return verified_deployment(settings)


def _evidence_id(d: Deployment, clip_files: list[Path]):
    shared = share_one_clip(d, clip_files)  # the consent's job made the copy (inline)
    officer = d.people["officer_x"]
    with d.container.uow() as uow:
        account = uow.accounts.get(officer.id)
    [item] = evidence.agency_evidence(d.container.uow(), account, shared.request_id)
    return item


def _export(browser, evidence_id, tmp_path: Path, name: str) -> Path:
    response = browser.post(f"/evidence/{evidence_id}/export",
                            headers={"x-csrf-token": browser.csrf()})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith("attachment;")
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


def _sequence(d: Deployment) -> None:
    d.clock.advance(timedelta(minutes=1))
    d.container.audit_sequencer().run_pass(force=True)


def _verify(path: Path, key: str, *extra: str):
    return runner.invoke(cli, ["evidence", "verify", str(path), "--key", key, *extra])


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(members: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_an_export_verifies_offline_with_pending_then_proven_custody(
    d: Deployment, clip_files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = _evidence_id(d, clip_files)
    officer = d.signed_in("officer_x")
    first = _export(officer, item.id, tmp_path, "first.zip")
    key = d.container.audit_verifier_key()
    members = _members(first)
    assert sorted(members) == ["manifest.json", "manifest.sig", "video.mp4"]
    manifest = json.loads(members["manifest.json"])
    assert manifest["evidence"]["sha256"] == item.sha256
    assert manifest["evidence"]["parent_sha256"] == item.source_sha256
    assert manifest["basis"]["consent_id"] == str(item.consent_id)
    assert [c["kind"] for c in manifest["custody"]] == ["evidence.received",
                                                       "evidence.exported"]
    # nothing was sequenced yet: verifies, with every custody event pending
    result = _verify(first, key)
    assert result.exit_code == 0, result.output
    assert "2 pending" in result.output

    _sequence(d)
    second = _export(officer, item.id, tmp_path, "second.zip")
    chain = json.loads(_members(second)["manifest.json"])["custody"]
    assert [c["kind"] for c in chain] == ["evidence.received", "evidence.exported",
                                          "evidence.exported"]
    assert [c["proof"] is not None for c in chain] == [True, True, False]
    result = _verify(second, key)
    assert result.exit_code == 0, result.output
    assert "2 of 3 custody events proven" in result.output and "1 pending" in result.output

    # --url fetches proofs for what the first export listed as pending
    monkeypatch.setattr(bootstrap, "remote_audit_source", lambda url: HttpAuditLogSource(
        url, client=TestClient(d.app)))
    result = _verify(first, key, "--url", "http://testserver")
    assert result.exit_code == 0, result.output
    assert "2 of 2 custody events proven" in result.output

    # a wrong key fails
    other = NoteSigner.generate("porchlight.local/log").verifier_key
    assert _verify(second, other).exit_code == 1
    assert _verify(second, "not a key").exit_code == 2
    assert _verify(tmp_path / "missing.zip", key).exit_code == 2


def test_witness_cosignatures_are_required_when_asked(d: Deployment, clip_files,
                                                      tmp_path: Path) -> None:
    item = _evidence_id(d, clip_files)
    _sequence(d)
    store = d.container.audit_store()
    with store.reading() as log:
        latest = log.latest_checkpoint()
    witness, absent = (CosignatureSigner.generate("w.example/w1"),
                       CosignatureSigner.generate("w.example/w2"))
    body = parse_note(latest.note)
    assert isinstance(body, Checkpoint)
    with store.sequencing() as writer:
        writer.add_cosignature(latest.size, witness.name, witness.cosign(body, 1_800_000_000),
                               1_800_000_000)
    path = _export(d.signed_in("officer_x"), item.id, tmp_path, "w.zip")
    key = d.container.audit_verifier_key()
    one = f"{witness.name}={witness.verifier_key}"
    two = f"{absent.name}={absent.verifier_key}"
    assert _verify(path, key, "--witness", one).exit_code == 0
    failed = _verify(path, key, "--witness", one, "--witness", two)
    assert failed.exit_code == 1 and "cosigned by 1 of the 2" in failed.output
    assert _verify(path, key, "--witness", one, "--witness", two,
                   "--min-witnesses", "1").exit_code == 0


@pytest.mark.parametrize("member", ["video.mp4", "manifest.json", "manifest.sig"])
def test_any_changed_byte_fails(d: Deployment, clip_files, tmp_path: Path, member: str) -> None:
    item = _evidence_id(d, clip_files)
    _sequence(d)
    path = _export(d.signed_in("officer_x"), item.id, tmp_path, "good.zip")
    key = d.container.audit_verifier_key()
    members = _members(path)
    size = len(members[member])
    for n, position in enumerate(sorted({0, 1, size // 3, size // 2, size - 2, size - 1})):
        changed = bytearray(members[member])
        changed[position] ^= 0x01
        flipped = _rezip({**members, member: bytes(changed)}, tmp_path / f"bad{n}.zip")
        result = _verify(flipped, key)
        assert result.exit_code == 1, (member, position, result.output)
    # a byte flipped in the archive itself (the stored video's bytes): its CRC fails
    raw = bytearray(path.read_bytes())
    at = raw.find(members["video.mp4"][1000:1032])
    raw[at] ^= 0x01
    (tmp_path / "raw.zip").write_bytes(bytes(raw))
    assert _verify(tmp_path / "raw.zip", key).exit_code == 1


def test_refusals_are_audited_and_exports_are_custody(d: Deployment, clip_files,
                                                      tmp_path: Path) -> None:
    item = _evidence_id(d, clip_files)
    other = d.signed_in("officer_y")
    assert other.post(f"/evidence/{item.id}/export",
                      headers={"x-csrf-token": other.csrf()}).status_code == 404
    resident = d.signed_in("resident_a")
    assert resident.post(f"/api/v1/evidence/{item.id}/export",
                         headers={"x-csrf-token": resident.csrf()}).status_code == 403
    officer = d.signed_in("officer_x")
    assert officer.post(f"/evidence/{item.id}/export").status_code == 403  # no CSRF token
    _export(officer, item.id, tmp_path, "ok.zip")
    with d.container.engine.connect() as connection:
        rows = connection.execute(select(tables.audit_events).where(
            tables.audit_events.c.kind.like("evidence.%"))).all()
    kinds = [(r.kind, r.payload.get("reason")) for r in rows]
    assert ("evidence.export_refused", "other_agency") in kinds
    assert ("evidence.access_denied", "not_staff") in kinds
    exported = [r for r in rows if r.kind == "evidence.exported"]
    assert len(exported) == 1 and exported[0].actor_id == d.people["officer_x"].id
    with d.container.uow() as uow:
        assert uow.evidence.get(item.id).first_opened_at is not None  # no revoking now
    # the page offers the button
    page = officer.get(f"/requests/{item.request_id}")
    assert f'action="/evidence/{item.id}/export"' in page.text


def test_a_purged_item_cannot_be_exported(d: Deployment, clip_files, tmp_path: Path) -> None:
    item = _evidence_id(d, clip_files)
    with d.container.uow() as uow:
        uow.evidence.get(item.id).purge(now=uow.clock.now(), reason="test", actor_id=None)
        uow.commit()
    officer = d.signed_in("officer_x")
    response = officer.post(f"/api/v1/evidence/{item.id}/export",
                            headers={"x-csrf-token": officer.csrf()})
    assert response.status_code == 404
    with d.container.engine.connect() as connection:
        refused = connection.execute(select(tables.audit_events).where(
            tables.audit_events.c.kind == "evidence.export_refused")).all()
    assert [r.payload["reason"] for r in refused] == ["purged"]
    assert not list((d.container.settings.data_dir / "tmp" / "uploads").glob("export-*"))
