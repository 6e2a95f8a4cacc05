"""The public audit log through HTTP: checkpoint, entries, proofs, the page, the worker thread."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from porchlight import bootstrap
from porchlight.audit.domain import (
    CheckpointVerifier,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from porchlight.bootstrap import Container
from porchlight.config import AuditSettings, Settings
from porchlight.entrypoints.app import create_app
from porchlight.kernel.adapters.db import tables

HTML = {"accept": "text/html"}
ROOT = Path(__file__).parents[2]


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def add_raw_events(container: Container, count: int) -> None:
    rows = [{"kind": "clip.viewed", "version": 1, "occurred_at": datetime(2026, 11, 1, tzinfo=UTC),
             "actor_id": None, "payload": {"n": i}} for i in range(count)]
    with container.engine.begin() as connection:
        connection.execute(insert(tables.audit_events), rows)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """One leaf per event (no padding): these tests count entries and proofs."""
    return Settings(env="test", data_dir=tmp_path / "var", audit=AuditSettings(pad_to=1))


@pytest.fixture
def sequenced(populated: Container) -> Container:
    populated.audit_sequencer().run_pass(force=True)  # now, not when the minute closes
    return populated


@pytest.fixture
def api(sequenced: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=sequenced)) as client:
        yield client


def test_latest_checkpoint_is_signed_by_the_published_key(
    api: TestClient, sequenced: Container
) -> None:
    state = api.get("/api/v1/audit/checkpoint").json()
    checkpoint = state["checkpoint"]
    assert state["tree_size"] == checkpoint["size"] == 5
    assert checkpoint["origin"] == sequenced.settings.origin
    assert checkpoint["verifier_key"] == sequenced.audit_verifier_key()
    opened = CheckpointVerifier(checkpoint["verifier_key"]).open(checkpoint["note"])
    assert (opened.size, opened.root) == (5, b64(checkpoint["root"]))


def test_before_the_first_checkpoint_the_state_says_so(client: TestClient) -> None:
    assert client.get("/api/v1/audit/checkpoint").json() == {"tree_size": 0, "checkpoint": None}
    assert client.get("/api/v1/audit/checkpoints").json() == {"checkpoints": []}
    assert client.get("/api/v1/audit/entries").json() == {"tree_size": 0, "entries": []}
    response = client.get("/api/v1/audit/proofs/inclusion", params={"index": 0})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == (
        "the audit log has no signed checkpoint yet; give a size")


def test_entries_are_pages_of_leaves_with_their_bytes_and_hashes(api: TestClient) -> None:
    body = api.get("/api/v1/audit/entries", params={"start": 1, "end": 3}).json()
    assert body["tree_size"] == 5
    assert [entry["index"] for entry in body["entries"]] == [1, 2]
    for entry in body["entries"]:
        data = b64(entry["data"])
        assert leaf_hash(data) == b64(entry["leaf_hash"])
        assert "event_id" not in entry  # ids would count and order a batch
        assert entry["entry"]["v"] == 2 and entry["entry"]["time"].endswith(":00Z")
    assert "Secret Person" not in str(body) and "secret.person" not in str(body)
    clipped = api.get("/api/v1/audit/entries", params={"start": 3, "end": 99}).json()
    assert [entry["index"] for entry in clipped["entries"]] == [3, 4]


def test_pages_are_bounded(sequenced: Container) -> None:
    add_raw_events(sequenced, 1500)
    sequenced.audit_sequencer().run_pass(force=True)  # a second batch in this minute
    with TestClient(create_app(container=sequenced)) as api:
        body = api.get("/api/v1/audit/entries", params={"start": 100, "end": 5000}).json()
    assert body["tree_size"] == 1505
    assert [body["entries"][0]["index"], body["entries"][-1]["index"]] == [100, 1099]


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"start": 6}, 404, "start 6 is beyond the log, which has 5 entries"),
    ({"start": -1}, 422, "query.start: Input should be greater than or equal to 0"),
    ({"start": "x"}, 422, "query.start: Input should be a valid integer"),
])
def test_bad_entry_ranges_get_clear_errors(
    api: TestClient, params: dict, status: int, message: str
) -> None:
    response = api.get("/api/v1/audit/entries", params=params)
    assert response.status_code == status
    assert response.json()["error"]["message"].startswith(message)


@pytest.mark.parametrize("end", [0, 2, 3])
def test_an_end_at_or_before_start_gives_an_empty_page(api: TestClient, end: int) -> None:
    response = api.get("/api/v1/audit/entries", params={"start": 3, "end": end})
    assert (response.status_code, response.json()) == (200, {"tree_size": 5, "entries": []})


def test_every_inclusion_proof_verifies_against_the_checkpoint(api: TestClient) -> None:
    root = b64(api.get("/api/v1/audit/checkpoint").json()["checkpoint"]["root"])
    entries = api.get("/api/v1/audit/entries").json()["entries"]
    for entry in entries:
        proof = api.get("/api/v1/audit/proofs/inclusion", params={"index": entry["index"]}).json()
        assert (proof["size"], b64(proof["root"])) == (5, root)
        verify_inclusion(b64(entry["leaf_hash"]), entry["index"], 5,
                         [b64(h) for h in proof["proof"]], root)
    smaller = api.get("/api/v1/audit/proofs/inclusion", params={"index": 1, "size": 3}).json()
    assert smaller["size"] == 3 and len(smaller["proof"]) == 2


def test_every_consistency_proof_verifies(api: TestClient) -> None:
    root = b64(api.get("/api/v1/audit/checkpoint").json()["checkpoint"]["root"])
    for first in range(1, 6):
        body = api.get("/api/v1/audit/proofs/consistency", params={"first": first}).json()
        assert (body["second"], b64(body["second_root"])) == (5, root)
        verify_consistency(first, 5, [b64(h) for h in body["proof"]],
                           b64(body["first_root"]), root)


@pytest.mark.parametrize(("path", "params", "status", "message"), [
    # what the log does not hold: 404, as docs/audit-log.md says
    ("inclusion", {"index": 5}, 404, "index 5 is beyond the tree of 5 entries"),
    ("inclusion", {"index": 3, "size": 3}, 404, "index 3 is beyond the tree of 3 entries"),
    ("inclusion", {"index": 0, "size": 6}, 404, "size 6 is beyond the log, which has 5"),
    ("consistency", {"first": 4, "second": 3}, 404, "first 4 is beyond the tree of 3 entries"),
    ("consistency", {"first": 6}, 404, "first 6 is beyond the tree of 5 entries"),
    ("consistency", {"first": 1, "second": 9}, 404, "size 9 is beyond the log"),
    # what the schema refuses: 422
    ("inclusion", {"size": 3}, 422, "query.index: Field required"),
    ("inclusion", {"index": 0, "size": 0}, 422, "query.size: Input should be greater than or "
                                                "equal to 1"),
    ("consistency", {"first": 0}, 422, "query.first: Input should be greater than or equal to 1"),
    ("consistency", {"first": 2**63}, 422, "query.first: Input should be less than"),
])
def test_bad_proof_requests_get_clear_errors(
    api: TestClient, path: str, params: dict, status: int, message: str
) -> None:
    response = api.get(f"/api/v1/audit/proofs/{path}", params=params)
    assert response.status_code == status
    assert response.json()["error"]["message"].startswith(message)


def test_the_documents_name_the_audit_routes_the_app_has(api: TestClient) -> None:
    """README and docs/audit-log.md once named /audit/proof/…; the routes are /proofs/…."""
    schema = api.get("/api/v1/openapi.json").json()
    readme = set(re.findall(r"/api/v1/audit/[a-z/]*[a-z]", (ROOT / "README.md").read_text()))
    guide = (ROOT / "docs" / "audit-log.md").read_text()
    table = {f"/api/v1/audit{path}" for path in re.findall(r"^\| `GET (/[a-z/]+)", guide, re.M)}
    assert len(readme) >= 4 and len(table) == 5
    assert readme | table <= set(schema["paths"])
    for path in table:  # and the schema says what the guide says: 404 and 422 bodies
        responses = schema["paths"][path]["get"]["responses"]
        assert {"404", "422"} <= responses.keys()


def test_checkpoints_are_listed_in_pages(sequenced: Container) -> None:
    sequencer = sequenced.audit_sequencer()
    sequencer.config = replace(sequencer.config, checkpoint_interval=timedelta(0))
    add_raw_events(sequenced, 3)
    sequencer.run_pass(force=True)  # a second batch in this minute
    with TestClient(create_app(container=sequenced)) as api:
        sizes = [c["size"] for c in api.get("/api/v1/audit/checkpoints").json()["checkpoints"]]
        after = api.get("/api/v1/audit/checkpoints", params={"after": 5, "limit": 1}).json()
        bad = api.get("/api/v1/audit/checkpoints", params={"limit": 0})
    assert sizes == [5, 8]
    assert [c["size"] for c in after["checkpoints"]] == [8]
    assert bad.status_code == 422


def test_the_audit_page_shows_the_checkpoint_key_commands_and_entries(
    api: TestClient, sequenced: Container
) -> None:
    page = api.get("/audit", headers=HTML).text
    key = sequenced.audit_verifier_key()
    assert 'data-testid="checkpoint-size">5<' in page
    assert key in page
    assert f"porchlight audit verify --url http://127.0.0.1:8000 --key '{key}'" in page
    # the agency's creation and verification are readable; the resident's account and
    # cameras are commitments
    assert page.count("<code>agency.") == 2 and "camera.registered" not in page
    assert 'data-testid="batch-commitments">3 commitments<' in page
    assert "Secret Person" not in page and "secret.person" not in page
    assert '<a href="/audit">Audit log</a>' in api.get("/", headers=HTML).text


def test_the_page_before_any_checkpoint(client: TestClient) -> None:
    page = client.get("/audit", headers=HTML).text
    assert 'data-testid="no-checkpoint"' in page and "The log is empty." in page


def test_the_app_sequences_in_a_background_thread_when_asked(populated: Container) -> None:
    """The thread ticks; the batch comes once the events' window (here a second) closed.
    The fixture's five events may straddle a window's end: then two batches, each signed."""
    settings = populated.settings.model_copy(
        update={"audit": AuditSettings(sequence_in_process=True, sequence_interval_seconds=0.1,
                                        batch_seconds=1, pad_to=1,
                                        checkpoint_interval_seconds=0)})
    container = bootstrap.build(settings, engine=populated.engine)

    def signed_all(state: dict) -> bool:
        size = (state.get("checkpoint") or {}).get("size")
        return state["tree_size"] >= 5 and size == state["tree_size"]

    with TestClient(create_app(container=container)) as api:
        worker = api.app.state.audit_worker
        assert worker is not None
        deadline = time.monotonic() + 30
        while not signed_all(state := api.get("/api/v1/audit/checkpoint").json()):
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
    assert state["checkpoint"]["size"] >= 5
    assert not worker._thread.is_alive()  # stopped with the app


def test_tests_and_explicit_opt_out_run_no_thread(client: TestClient) -> None:
    assert client.app.state.audit_worker is None
    assert Settings(env="development").sequence_audit_in_process
    assert not Settings(env="development",
                        audit=AuditSettings(sequence_in_process=False)).sequence_audit_in_process
