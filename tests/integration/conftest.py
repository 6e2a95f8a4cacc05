"""A real migrated database per backend, and a savepoint per test.

Each backend is migrated once per session. A test's unit of work runs on one connection
inside an outer transaction; its commits release savepoints, and the outer transaction
is rolled back afterwards, so tests never see each other's rows.

PostgreSQL runs when PORCHLIGHT_TEST_POSTGRES_URL is set: the suite creates a fresh
database beside the one named there and drops it at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.adapters.db import migrate
from porchlight.kernel.adapters.db.engine import make_engine
from porchlight.kernel.adapters.db.orm import start_mappers
from porchlight.kernel.adapters.db.uow import SqlUnitOfWork
from tests.conftest import POSTGRES_URL, skip_or_fail

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BACKENDS = ["sqlite", "postgres"]


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[Engine]:
    """An empty database of its own beside the one PORCHLIGHT_TEST_POSTGRES_URL names,
    dropped afterwards (skips, or fails under PORCHLIGHT_TEST_REQUIRE_ALL, without it)."""
    if not POSTGRES_URL:
        skip_or_fail("PORCHLIGHT_TEST_POSTGRES_URL is not set; PostgreSQL tests skipped")
    admin_url = make_url(POSTGRES_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(admin_url.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    with fresh_postgres_database("porchlight_test") as engine:
        migrate.upgrade(engine)
        yield engine


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("sqlite") / "porchlight.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    start_mappers()
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def uow(session_factory: sessionmaker, clock: FixedClock) -> SqlUnitOfWork:
    return SqlUnitOfWork(session_factory, clock)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own on each backend, for a migration's up-and-down test."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'migrations.db'}")
        yield engine
        engine.dispose()
        return
    with fresh_postgres_database("porchlight_migrations") as engine:
        yield engine
