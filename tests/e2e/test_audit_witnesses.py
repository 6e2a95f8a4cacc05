"""Two witnesses run in-process against a real log: collection, K of N, rollback, fork."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, insert, select

from porchlight import bootstrap
from porchlight.audit.adapters.http import HttpAuditLogSource, HttpWitnessClient
from porchlight.audit.adapters.tables import (
    audit_checkpoints,
    audit_cosignatures,
    audit_leaves,
    audit_nodes,
    audit_openings,
)
from porchlight.config import Settings
from porchlight.entrypoints.app import create_app
from porchlight.entrypoints.cli import app
from porchlight.entrypoints.witness import create_witness_app
from porchlight.kernel.adapters.db import tables
from tests.e2e.test_audit_cli import data_dir, engine, runner, sequenced  # noqa: F401

NAMES = ("w1.example/witness", "w2.example/witness")


class SharedClientSource(HttpAuditLogSource):
    """Each `verify` closes its source; the test client outlives them."""

    def close(self) -> None:
        return None


@pytest.fixture
def witnesses(engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
              ) -> Iterator[dict[str, str]]:
    key = sequenced(engine, data_dir, 20)
    keys, clients = {}, {}
    for name in NAMES:
        service = bootstrap.build_witness(name, data_dir / name.replace("/", "_") / "w.key",
                                          data_dir / name.replace("/", "_") / "w.db", [key])
        keys[name] = service.signer.verifier_key
        clients[name] = TestClient(create_witness_app(service))
    monkeypatch.setenv("PORCHLIGHT_AUDIT__WITNESSES", json.dumps(
        [{"name": n, "url": "http://testserver", "key": keys[n]} for n in NAMES]))
    real = bootstrap.Container.witness_endpoints
    monkeypatch.setattr(bootstrap.Container, "witness_endpoints", lambda self, c=None: real(
        self, {n: HttpWitnessClient("http://testserver", client=clients[n]) for n in NAMES}))
    container = bootstrap.build(Settings())
    with TestClient(create_app(container=container)) as client:
        monkeypatch.setattr(bootstrap, "remote_audit_source",
                            lambda url: SharedClientSource(url, client=client))
        yield {"log": key, **keys}
    container.close()


def verify(keys: dict[str, str], *extra: str) -> tuple[int, str]:
    args = ["audit", "verify", "--url", "http://testserver", "--key", keys["log"]]
    for name in NAMES:
        args += ["--witness", f"{name}={keys[name]}"]
    result = runner.invoke(app, [*args, *extra])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_cosignatures_are_collected_served_and_required(
    witnesses: dict[str, str], engine: Engine, data_dir: Path  # noqa: F811
) -> None:
    code, output = verify(witnesses, "--min-witnesses", "1")
    assert code == 1 and "no checkpoint is cosigned by 1" in output  # none collected yet
    result = runner.invoke(app, ["audit", "witness-collect"])
    assert result.exit_code == 0, result.output
    assert result.output.count("cosigned") == 2
    code, output = verify(witnesses)
    assert code == 0, output
    assert "cosigned by enough witnesses covers 20" in output
    sequenced(engine, data_dir, 5)  # the witnesses get a consistency proof from 20 to 25
    assert runner.invoke(app, ["audit", "witness-collect"]).exit_code == 0
    code, output = verify(witnesses)
    assert code == 0 and "covers 25" in output, output
    # a checkpoint only one witness cosigned is not enough for two
    sequenced(engine, data_dir, 5)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER audit_cosignatures_no_delete")
    assert runner.invoke(app, ["audit", "witness-collect"]).exit_code == 0
    with engine.begin() as connection:
        connection.execute(delete(audit_cosignatures).where(
            audit_cosignatures.c.size == 30, audit_cosignatures.c.witness == NAMES[1]))
    code, output = verify(witnesses)
    assert code == 0 and "covers 25" in output, output
    code, output = verify(witnesses, "--min-witnesses", "1")
    assert code == 0 and "covers 30" in output, output


def test_rollback_is_caught_by_the_remembered_checkpoint_and_the_witnesses(
    witnesses: dict[str, str], engine: Engine, data_dir: Path  # noqa: F811
) -> None:
    sequenced(engine, data_dir, 10)
    assert runner.invoke(app, ["audit", "witness-collect"]).exit_code == 0
    code, output = verify(witnesses)
    assert code == 0, output
    with engine.begin() as connection:  # roll back to 20 entries, consistently
        for table in ("audit_leaves", "audit_nodes", "audit_checkpoints", "audit_cosignatures"):
            connection.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")
        connection.execute(delete(audit_cosignatures).where(audit_cosignatures.c.size > 20))
        connection.execute(delete(audit_leaves).where(audit_leaves.c.leaf_index >= 20))
        connection.execute(delete(audit_openings).where(audit_openings.c.leaf_index >= 20))
        connection.execute(delete(audit_checkpoints).where(audit_checkpoints.c.size > 20))
        for level, index in connection.execute(select(audit_nodes.c.level,
                                                      audit_nodes.c.node_index)).all():
            if (index + 1) << level > 20:
                connection.execute(delete(audit_nodes).where(
                    audit_nodes.c.level == level, audit_nodes.c.node_index == index))
    code, output = verify(witnesses, "--min-witnesses", "1")  # no file given by the user
    assert code == 1 and "first bad index 20" in output, output
    code, output = verify(witnesses, "--no-state", "--min-witnesses", "1")
    assert code == 1 and "no checkpoint is cosigned" in output, output
    # the log grows a fork from 20 (other events after event 20) and signs it
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        connection.execute(delete(tables.audit_events).where(tables.audit_events.c.id > 20))
        connection.execute(insert(tables.audit_events), [
            {"kind": "clip.forged", "version": 1, "occurred_at": datetime(2026, 11, 2, tzinfo=UTC),
             "actor_id": None, "payload": {"n": i}} for i in range(15)])
    assert runner.invoke(app, ["audit", "sequence"]).exit_code == 0
    result = runner.invoke(app, ["audit", "witness-collect"])
    assert result.exit_code == 1 and result.output.count("refused") == 2, result.output
    code, output = verify(witnesses)
    assert code == 1, output
