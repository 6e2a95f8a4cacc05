"""`porchlight audit ...` and `porchlight worker` through the CLI runner."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import Engine, delete, insert, select, update
from typer.testing import CliRunner

from porchlight import bootstrap
from porchlight.audit.adapters.http import HttpAuditLogSource
from porchlight.audit.adapters.tables import audit_checkpoints, audit_leaves, audit_openings
from porchlight.audit.domain import (
    CheckpointSigner,
    CheckpointVerifier,
    leaf_hash,
    verify_inclusion,
)
from porchlight.config import Settings
from porchlight.entrypoints import cli_audit
from porchlight.entrypoints.app import create_app
from porchlight.entrypoints.cli import app
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.adapters.db.engine import make_engine

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "var"
    monkeypatch.setenv("PORCHLIGHT_DATA_DIR", str(data))
    monkeypatch.setenv("PORCHLIGHT_ENV", "test")
    monkeypatch.setenv("PORCHLIGHT_AUDIT__CHECKPOINT_INTERVAL_SECONDS", "0")
    # One leaf per event (their kinds are resident events: no padding is then needed), so
    # the tests can count; batches are still shuffled (test_public_log_adversary.py).
    monkeypatch.setenv("PORCHLIGHT_AUDIT__PAD_TO", "1")
    monkeypatch.delenv("PORCHLIGHT_DATABASE__URL", raising=False)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return data


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{data_dir / 'porchlight.db'}")
    yield engine
    engine.dispose()


def add_events(engine: Engine, count: int) -> None:
    rows = [{"kind": "clip.viewed", "version": 1, "occurred_at": datetime(2026, 11, 1, tzinfo=UTC),
             "actor_id": None, "payload": {"n": i}} for i in range(count)]
    with engine.begin() as connection:
        connection.execute(insert(tables.audit_events), rows)


def key_of(data_dir: Path) -> str:
    return CheckpointSigner.from_signer_key((data_dir / "keys" / "audit.key").read_text().strip(
    )).verifier_key


def sequenced(engine: Engine, data_dir: Path, count: int = 20) -> str:
    add_events(engine, count)
    result = runner.invoke(app, ["audit", "sequence"])
    assert result.exit_code == 0, result.output
    return key_of(data_dir)


def drop_triggers(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in ("audit_leaves", "audit_nodes", "audit_checkpoints"):
            connection.exec_driver_sql(f"DROP TRIGGER {table}_no_update")
            connection.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")


def test_sequence_verify_prove_and_worker(engine: Engine, data_dir: Path) -> None:
    add_events(engine, 20)
    result = runner.invoke(app, ["audit", "sequence"])
    assert result.exit_code == 0, result.output
    assert "sequenced 20 events; the log has 20 entries; signed a checkpoint for size 20" in (
        result.output)
    assert stat.S_IMODE((data_dir / "keys" / "audit.key").stat().st_mode) == 0o600

    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "20 leaves, 1 signed checkpoints" in result.output and "OK" in result.output

    result = runner.invoke(app, ["audit", "prove", "7"])
    assert result.exit_code == 0, result.output
    proof = json.loads(result.output)
    checkpoint = CheckpointVerifier(key_of(data_dir)).open(proof["checkpoint"])
    decode = base64.b64decode
    verify_inclusion(decode(proof["leaf_hash"]), 7, 20, [decode(h) for h in proof["proof"]],
                     checkpoint.root)
    assert proof["event_id"] is None and proof["entry"]["v"] == 2  # ids stay inside

    add_events(engine, 3)
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sequenced 3 events; the log has 23 entries" in result.output


def test_verify_fails_and_names_the_first_bad_index(engine: Engine, data_dir: Path) -> None:
    sequenced(engine, data_dir)
    drop_triggers(engine)
    with engine.begin() as connection:
        data = connection.execute(select(audit_leaves.c.data)
                                  .where(audit_leaves.c.leaf_index == 12)).scalar_one()
        connection.execute(update(audit_leaves).where(audit_leaves.c.leaf_index == 12)
                           .values(data=data.replace(b'"commitment":"', b'"commitment":"0')))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "FAILED: first bad index 12" in result.output
    assert "[event_mismatch] leaf 12" in result.output


def test_progress_bars_show_on_a_terminal(
    engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sequenced(engine, data_dir)
    terminal = Console(force_terminal=True, record=True, width=120)
    monkeypatch.setattr(cli_audit, "console", terminal)
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    shown = terminal.export_text()
    assert "leaves" in shown and "events" in shown and "20/20" in shown


@pytest.fixture
def remote(engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`--url` goes to this deployment's app through the test client, not the network."""
    key = sequenced(engine, data_dir)
    container = bootstrap.build(Settings())
    with TestClient(create_app(container=container)) as client:
        monkeypatch.setattr(bootstrap, "remote_audit_source",
                            lambda url: HttpAuditLogSource(url, client=client))
        yield key
    container.close()


def test_verify_over_the_api_with_the_right_key(remote: str) -> None:
    result = runner.invoke(app, ["audit", "verify", "--url", "http://testserver", "--key", remote])
    assert result.exit_code == 0, result.output
    assert "20 leaves, 1 signed checkpoints" in result.output


@pytest.mark.parametrize(("key", "code", "says"), [
    (CheckpointSigner.generate("porchlight.local/log").verifier_key, 1, "first bad index 0"),
    ("not+a+key", 2, "bad verifier key"),
    ("", 2, "--url needs --key"),
])
def test_verify_over_the_api_refuses_other_keys(remote: str, key: str, code: int, says: str
                                                ) -> None:
    result = runner.invoke(app, ["audit", "verify", "--url", "http://testserver", "--key", key])
    assert result.exit_code == code
    assert says in result.output


def test_a_saved_checkpoint_catches_a_later_rollback(engine: Engine, data_dir: Path) -> None:
    sequenced(engine, data_dir, 20)
    sequenced(engine, data_dir, 10)
    saved = data_dir / "latest.note"
    result = runner.invoke(app, ["audit", "verify", "--save-checkpoint", str(saved)])
    assert result.exit_code == 0 and saved.read_text().startswith("porchlight.local/log\n30\n")
    drop_triggers(engine)
    with engine.begin() as connection:  # roll the log back to 20 entries, consistently
        connection.execute(delete(audit_leaves).where(audit_leaves.c.leaf_index >= 20))
        connection.execute(delete(audit_openings).where(audit_openings.c.leaf_index >= 20))
        connection.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        connection.execute(delete(tables.audit_events).where(tables.audit_events.c.id > 20))
        connection.execute(delete(audit_checkpoints).where(audit_checkpoints.c.size > 20))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output  # a shorter log is consistent in itself
    result = runner.invoke(app, ["audit", "verify", "--trusted-checkpoint", str(saved)])
    assert result.exit_code == 1
    assert "first bad index 20" in result.output and "[truncated]" in result.output


def test_prove_and_verify_explain_what_is_missing(engine: Engine, data_dir: Path) -> None:
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 2 and "no audit signing key" in result.output
    assert "pass --key" in result.output
    result = runner.invoke(app, ["audit", "prove", "0"])
    assert result.exit_code == 2 and "no signed checkpoint yet" in result.output
    sequenced(engine, data_dir)
    result = runner.invoke(app, ["audit", "prove", "20"])
    assert result.exit_code == 2 and "index 20 is beyond the tree of 20 entries" in result.output
    leaf = runner.invoke(app, ["audit", "prove", "19", "--size", "5"])
    assert leaf.exit_code == 2


def test_leaves_hashed_by_the_cli_match_the_api(engine: Engine, data_dir: Path) -> None:
    sequenced(engine, data_dir, 4)
    with engine.connect() as connection:
        rows = connection.execute(select(audit_leaves.c.data, audit_leaves.c.leaf_hash)).all()
    assert all(leaf_hash(data) == digest for data, digest in rows)
