"""The composition root: the one place that turns Settings into concrete adapters."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from porchlight.adapters.clock import SystemClock
from porchlight.adapters.db import migrate
from porchlight.adapters.db.engine import make_engine
from porchlight.adapters.db.orm import start_mappers
from porchlight.adapters.db.uow import SqlUnitOfWork
from porchlight.adapters.passwords import Argon2PasswordHasher
from porchlight.config import Settings
from porchlight.services.ports import Clock, PasswordHasher, UnitOfWork


@dataclass
class Container:
    """Everything an entry point needs, built once per process."""

    settings: Settings
    engine: Engine
    clock: Clock
    passwords: PasswordHasher
    session_factory: sessionmaker[Session] = field(repr=False)

    def uow(self) -> UnitOfWork:
        return SqlUnitOfWork(self.session_factory, self.clock)

    def migrate(self) -> None:
        migrate.upgrade(self.engine)

    def check_migrations(self) -> None:
        migrate.check(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def build(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    session_factory: sessionmaker[Session] | None = None,
) -> Container:
    """Build the container; tests pass their own clock, engine or session factory."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    start_mappers()
    engine = engine or make_engine(settings.database_url, echo=settings.database.echo)
    factory = session_factory or sessionmaker(engine, expire_on_commit=False)
    return Container(
        settings=settings,
        engine=engine,
        clock=clock or SystemClock(),
        passwords=Argon2PasswordHasher(fast_for_tests=settings.env == "test"),
        session_factory=factory,
    )
