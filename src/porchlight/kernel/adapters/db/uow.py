"""The SQLAlchemy unit of work: one session, one transaction, audit rows written with it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sqlalchemy import Engine, event, insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from porchlight.feed.adapters.repositories import (
    SqlCommentRepository,
    SqlPostRepository,
    SqlReportRepository,
)
from porchlight.jobs.domain.jobs import Job
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.adapters.db.engine import NO_WAIT, is_sqlite_busy, read_only_options
from porchlight.kernel.adapters.db.repositories import (
    SqlAccountRepository,
    SqlAgencyRepository,
    SqlApiTokenRepository,
    SqlAuditEventRepository,
    SqlCameraRepository,
    SqlClipRepository,
    SqlConsentRepository,
    SqlDeliveryRepository,
    SqlDeviceTokenRepository,
    SqlEvidenceRepository,
    SqlEvidenceShareRepository,
    SqlJobRepository,
    SqlLegalDemandRepository,
    SqlLegalHoldRepository,
    SqlOneTimeTokenRepository,
    SqlRecoveryCodeRepository,
    SqlRedactedCopyRepository,
    SqlSessionRepository,
    SqlVideoRequestRepository,
)
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict
from porchlight.kernel.domain.events import DomainEvent
from porchlight.kernel.services.messagebus import MessageBus
from porchlight.kernel.services.ports import Clock
from porchlight.kernel.services.unit_of_work import (
    EventCollectingUnitOfWork,
    Mode,
    ReadOnlyViolation,
    WriteLockBusy,
)


class SqlUnitOfWork(EventCollectingUnitOfWork):
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock,
                 *, bus: MessageBus | None = None,
                 wake: Callable[[list[Job]], None] | None = None) -> None:
        super().__init__(clock, bus=bus, wake=wake)
        self.session_factory = session_factory
        self.session: Session | None = None

    def _start(self) -> None:
        self.session = self.session_factory()
        if self.mode is not Mode.WRITE:
            try:
                self._begin_now(self.session)
            except BaseException:
                self._end()
                raise
        self.accounts = SqlAccountRepository(self.session, self.track)
        self.agencies = SqlAgencyRepository(self.session, self.track)
        self.cameras = SqlCameraRepository(self.session, self.track)
        self.sessions = SqlSessionRepository(self.session, self.track)
        self.api_tokens = SqlApiTokenRepository(self.session, self.track)
        self.device_tokens = SqlDeviceTokenRepository(self.session, self.track)
        self.one_time_tokens = SqlOneTimeTokenRepository(self.session, self.track)
        self.recovery_codes = SqlRecoveryCodeRepository(self.session, self.track)
        self.clips = SqlClipRepository(self.session, self.track)
        self.requests = SqlVideoRequestRepository(self.session, self.track)
        self.deliveries = SqlDeliveryRepository(self.session, self.track)
        self.consents = SqlConsentRepository(self.session, self.track)
        self.evidence = SqlEvidenceRepository(self.session, self.track)
        self.holds = SqlLegalHoldRepository(self.session, self.track)
        self.shares = SqlEvidenceShareRepository(self.session, self.track)
        self.demands = SqlLegalDemandRepository(self.session, self.track)
        self.audit_events = SqlAuditEventRepository(self.session)
        self.jobs = SqlJobRepository(self.session, self.track)
        self.redactions = SqlRedactedCopyRepository(self.session, self.track)
        self.posts = SqlPostRepository(self.session, self.track)
        self.comments = SqlCommentRepository(self.session, self.track)
        self.reports = SqlReportRepository(self.session, self.track)

    def _begin_now(self, session: Session) -> None:
        """Begin the transaction at once, as the mode asks (see engine.READ_ONLY and
        engine.NO_WAIT). A session bound to a connection whose transaction is already
        open (the tests' rollback-only fixtures) keeps that transaction. A reading
        session refuses any flush before it reaches the database."""
        if self.mode is Mode.READ:
            event.listen(session, "before_flush", _refuse_flush)
        bind = session.get_bind()
        if not isinstance(bind, Engine):
            return
        if self.mode is Mode.READ:
            session.connection(execution_options=read_only_options(bind.dialect.name))
            return
        try:
            session.connection(execution_options={NO_WAIT: True})
        except OperationalError as error:
            if is_sqlite_busy(error):
                raise WriteLockBusy() from error
            raise

    def lock(self, entity: Entity) -> None:
        """SELECT ... FOR UPDATE and reload, on PostgreSQL. On SQLite a write transaction
        already holds the only write lock, so there is nothing to add."""
        session = self._session()
        if session.get_bind().dialect.name != "sqlite":
            session.refresh(entity, with_for_update=True)

    def _end(self) -> None:
        if self.session is not None:
            self.session.expunge_all()
            self.session.close()
            self.session = None

    def _write_audit(self, events: list[DomainEvent]) -> None:
        now = self.clock.now()
        rows = [
            {
                "kind": event.kind,
                "version": event.version,
                "occurred_at": now,
                "actor_id": event.actor_id,
                "payload": event.audit_payload(),
            }
            for event in events
        ]
        self._session().flush()
        self._session().execute(insert(tables.audit_events), rows)

    def commit(self) -> None:
        """Commit; breaking one of the ``RACED`` unique rules (two requests doing the same
        thing at once, both having checked first) becomes ``Conflict``, so the caller can
        answer with what won instead of failing. Every other integrity error — a primary
        key or token collision, a foreign key, a NOT NULL — is a bug and stays as it is."""
        try:
            super().commit()
        except IntegrityError as error:
            if not _breaks_a_raced_rule(error):
                raise
            self._rollback()
            raise Conflict("This was saved by another request at the same moment.",
                           code="conflict.concurrent") from error

    def _commit(self) -> None:
        self._session().commit()

    def _rollback(self) -> None:
        if self.session is not None:
            self.session.rollback()

    def _session(self) -> Session:
        if self.session is None:
            raise RuntimeError("the unit of work is used outside its 'with' block")
        return self.session


def _refuse_flush(session: Session, *_: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyViolation("a unit of work opened with reading() cannot write")


# The unique rules that two well-behaved requests can race to break: the same address
# signing up twice, the same clip uploaded twice, a consent submitted from two tabs, a
# delivery or evidence job run by two workers at once.
RACED = frozenset({"uq_accounts_email", "ux_clips_live_camera_sha256", "uq_consents_delivery_id",
                   "one_per_resident", "one_per_clip", "one_per_demanded_clip"})
_UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


def _sqlite_messages() -> frozenset[str]:
    """SQLite names the columns, not the rule: "UNIQUE constraint failed: t.a, t.b"."""
    messages = set()
    for table in tables.metadata.tables.values():
        rules = [*table.indexes, *table.constraints]
        for rule in rules:
            if rule.name in RACED:
                columns = ", ".join(f"{table.name}.{column.name}" for column in rule.columns)
                messages.add(f"UNIQUE constraint failed: {columns}")
    return frozenset(messages)


_SQLITE_MESSAGES = _sqlite_messages()


def _breaks_a_raced_rule(error: IntegrityError) -> bool:
    original = error.orig
    if isinstance(original, sqlite3.IntegrityError):
        return (getattr(original, "sqlite_errorcode", None) == sqlite3.SQLITE_CONSTRAINT_UNIQUE
                and str(original) in _SQLITE_MESSAGES)
    if getattr(original, "sqlstate", None) != _UNIQUE_VIOLATION:
        return False
    diagnostic = getattr(original, "diag", None)
    return getattr(diagnostic, "constraint_name", None) in RACED
