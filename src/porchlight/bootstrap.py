"""The composition root: the one place that turns Settings into concrete adapters."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from porchlight.adapters.clock import SystemClock
from porchlight.adapters.db import migrate
from porchlight.adapters.db.engine import make_engine
from porchlight.adapters.db.orm import start_mappers
from porchlight.adapters.db.uow import SqlUnitOfWork
from porchlight.adapters.mail import LogMailer, SmtpMailer
from porchlight.adapters.passwords import Argon2PasswordHasher
from porchlight.adapters.vault import LocalKeyVault
from porchlight.config import Settings
from porchlight.services.ports import Clock, Mailer, PasswordHasher, UnitOfWork
from porchlight.services.security import Security


@dataclass
class Container:
    """Everything an entry point needs, built once per process."""

    settings: Settings
    engine: Engine
    clock: Clock
    passwords: PasswordHasher
    security: Security = field(repr=False)
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
    mailer: Mailer | None = None,
) -> Container:
    """Build the container; tests pass their own clock, engine or session factory."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    start_mappers()
    engine = engine or make_engine(settings.database_url, echo=settings.database.echo)
    factory = session_factory or sessionmaker(engine, expire_on_commit=False)
    passwords = Argon2PasswordHasher(fast_for_tests=settings.env == "test")
    return Container(
        settings=settings,
        engine=engine,
        clock=clock or SystemClock(),
        passwords=passwords,
        security=build_security(settings, passwords, mailer or build_mailer(settings)),
        session_factory=factory,
    )


def build_mailer(settings: Settings) -> Mailer:
    mail = settings.mail
    if mail.backend == "smtp":
        password = mail.smtp_password.get_secret_value() if mail.smtp_password else None
        return SmtpMailer(host=mail.smtp_host, port=mail.smtp_port, sender=mail.sender,
                          username=mail.smtp_username, password=password,
                          starttls=mail.smtp_starttls)
    return LogMailer(settings.data_dir / "mail.log")


def build_security(settings: Settings, passwords: PasswordHasher, mailer: Mailer) -> Security:
    secret = settings.keys.secret_key.get_secret_value().encode()
    return Security(
        passwords=passwords,
        vault=LocalKeyVault.from_file(settings.key_file, create=settings.env != "production"),
        mailer=mailer,
        base_url=settings.base_url,
        link_key=hmac.new(secret, b"porchlight mailed links", hashlib.sha256).digest(),
        common_passwords=common_passwords(),
        dummy_hash=passwords.hash(secrets.token_urlsafe(16)),
    )


@functools.cache
def common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30,000 most common passwords, lower-cased."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])
