"""Fresh, migrated databases for the audit log, one per test, on SQLite and PostgreSQL.

The sequencer takes its own write lock and commits batch by batch, so these tests cannot
run inside the savepoint-per-test databases of the other integration tests.  Each backend
is migrated once into a template; every test gets a copy (a file copy on SQLite, CREATE
DATABASE ... TEMPLATE on PostgreSQL) and loses it afterwards.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import URL, make_url

from porchlight.audit.adapters.sql_log import SqlAuditLogStore
from porchlight.audit.domain import CheckpointSigner, CheckpointVerifier
from porchlight.audit.services.log import Sequencer, SequencerConfig
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.adapters.db import migrate, tables
from porchlight.kernel.adapters.db.engine import make_engine
from tests.conftest import POSTGRES_URL, skip_or_fail

ORIGIN = "porchlight.test/log"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SIGNER = CheckpointSigner.generate(ORIGIN)
APPEND_ONLY = ("audit_leaves", "audit_nodes", "audit_checkpoints")


class PostgresTemplates:
    """CREATE DATABASE copies of one migrated template, dropped at the end."""

    def __init__(self, admin_url: URL) -> None:
        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"porchlight_audit_{uuid.uuid4().hex[:10]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.names.append(name)
        return name

    def url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        with self.admin.connect() as connection:
            for name in reversed(self.names):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_templates() -> Iterator[PostgresTemplates]:
    if not POSTGRES_URL:
        skip_or_fail("PORCHLIGHT_TEST_POSTGRES_URL is not set; PostgreSQL tests skipped")
    templates = PostgresTemplates(make_url(POSTGRES_URL))
    yield templates
    templates.close()


@pytest.fixture(scope="session")
def pg_migrated(pg_templates: PostgresTemplates) -> str:
    name = pg_templates.create()
    engine = make_engine(pg_templates.url(name))
    migrate.upgrade(engine)
    engine.dispose()
    return name


@pytest.fixture(scope="session")
def sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


class Databases:
    """Makes fresh databases of one backend: empty-migrated, or copies of a given one."""

    def __init__(self, backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.backend, self.request, self.tmp_path = backend, request, tmp_path
        self.engines: list[Engine] = []

    def fresh(self, template: Engine | None = None) -> Engine:
        if self.backend == "sqlite":
            return self._sqlite(template)
        templates: PostgresTemplates = self.request.getfixturevalue("pg_templates")
        source = template.url.database if template else self.request.getfixturevalue(
            "pg_migrated")
        if template is not None:
            template.dispose()
        return self._keep(make_engine(templates.url(templates.create(source))))

    def _sqlite(self, template: Engine | None) -> Engine:
        source = Path(template.url.database) if template else self.request.getfixturevalue(
            "sqlite_migrated")
        if template is not None:
            template.dispose()
        target = self.tmp_path / f"copy-{len(self.engines)}.db"
        shutil.copy(source, target)
        return self._keep(make_engine(f"sqlite:///{target}"))

    def _keep(self, engine: Engine) -> Engine:
        self.engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    made = Databases(request.param, request, tmp_path)
    yield made
    made.close()


@pytest.fixture
def engine(databases: Databases) -> Engine:
    return databases.fresh()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0 + timedelta(days=1))


def make_sequencer(engine: Engine, clock: FixedClock, *, batch_size: int = 1000,
                   interval: float = 5.0, signer: CheckpointSigner = SIGNER) -> Sequencer:
    # The tree machinery's tests: one leaf per event, in event order, a batch per pass
    # (tests/integration/audit/test_batches.py covers the public log's batches).
    config = SequencerConfig(ORIGIN, batch_size, timedelta(seconds=interval), pad_to=1,
                             shuffle=False, one_batch_per_window=False)
    return Sequencer(SqlAuditLogStore(engine, horizon_lock_timeout_ms=200), signer, clock, config)


@pytest.fixture
def sequencer_for(clock: FixedClock) -> Callable[..., Sequencer]:
    return lambda engine, **options: make_sequencer(engine, clock, **options)


VERIFIER = CheckpointVerifier(SIGNER.verifier_key, origin=ORIGIN)


def event_rows(count: int, start: int = 0) -> list[dict]:
    """Audit event rows as the unit of work writes them: ids, codes and digests only."""
    return [
        {
            "kind": "clip.viewed" if i % 3 else "camera.registered",
            "version": 1,
            "occurred_at": T0 + timedelta(milliseconds=1001 * i),
            "actor_id": uuid.UUID(int=i + 1),
            "payload": {"camera_id": str(uuid.UUID(int=10**6 + i)), "n": i,
                        "sha256": f"{i:064x}", "granted": i % 2 == 0},
        }
        for i in range(start, start + count)
    ]


def add_events(engine: Engine, count: int, start: int = 0) -> None:
    rows = event_rows(count, start)
    with engine.begin() as connection:
        for offset in range(0, len(rows), 5000):
            connection.execute(insert(tables.audit_events), rows[offset : offset + 5000])


def drop_append_only_triggers(engine: Engine) -> None:
    """What a rogue DBA does first."""
    with engine.begin() as connection:
        for table in APPEND_ONLY:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql(f"DROP TRIGGER {table}_no_update")
                connection.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")
            else:
                connection.exec_driver_sql(f"DROP TRIGGER {table}_append_only ON {table}")
                connection.exec_driver_sql(f"DROP TRIGGER {table}_no_truncate ON {table}")
