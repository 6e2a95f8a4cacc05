"""The composition root: the one place that turns Settings into concrete adapters."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from porchlight.accounts.adapters.passwords import Argon2PasswordHasher
from porchlight.accounts.services.credentials import Security
from porchlight.audit.adapters.http import HttpAuditLogSource, HttpWitnessClient
from porchlight.audit.adapters.keys import (
    load_or_create_cosigner,
    load_or_create_signer,
    load_signer,
)
from porchlight.audit.adapters.sql_log import SqlAuditLogStore
from porchlight.audit.adapters.sql_source import SqlAuditLogSource
from porchlight.audit.adapters.verify_state import VerifiedCheckpointFile, default_state_dir
from porchlight.audit.adapters.witness_state import SqliteWitnessState
from porchlight.audit.domain import CheckpointError, CheckpointVerifier, CosignatureVerifier
from porchlight.audit.services import openings as audit_openings
from porchlight.audit.services.log import Sequencer, SequencerConfig
from porchlight.audit.services.ports import AuditKeyError, AuditLogStore, WitnessClient
from porchlight.audit.services.witness import (
    Collected,
    Witness,
    WitnessEndpoint,
    collect_cosignatures,
)
from porchlight.config import Settings
from porchlight.custody.services.export import ExportKit
from porchlight.footage.adapters.store import EncryptedFootageStore, LocalObjectStore
from porchlight.footage.adapters.vault import LocalKeyVault
from porchlight.footage.adapters.video.tools import PyAvVideoTools
from porchlight.footage.domain.cameras import RETENTION_CHOICES_DAYS
from porchlight.footage.services.library import Footage
from porchlight.jobs.adapters.queue import (
    HueyQueue,
    InlineQueue,
    QueueWorkers,
    redis_huey,
    sqlite_huey,
)
from porchlight.jobs.services import handlers as job_handlers
from porchlight.jobs.services.handlers import JobKit
from porchlight.jobs.services.jobs import JobRunner
from porchlight.kernel.adapters.clock import SystemClock
from porchlight.kernel.adapters.db import migrate
from porchlight.kernel.adapters.db.engine import make_engine
from porchlight.kernel.adapters.db.health import DatabaseHealth
from porchlight.kernel.adapters.db.orm import start_mappers
from porchlight.kernel.adapters.db.uow import SqlUnitOfWork
from porchlight.kernel.adapters.files import private_dirs
from porchlight.kernel.adapters.mail import LogMailer, SmtpMailer
from porchlight.kernel.adapters.process import forbid_inspection
from porchlight.kernel.services.messagebus import MessageBus
from porchlight.kernel.services.ports import (
    Clock,
    HealthCheck,
    JobQueue,
    KeyVault,
    Mailer,
    PasswordHasher,
    UnitOfWork,
)
from porchlight.redaction.services.copies import RedactionKit
from porchlight.redaction.services.ports import Redactor
from porchlight.requests.domain.requests import ScopePolicy
from porchlight.requests.services.video_requests import RequestsKit


@dataclass
class Container:
    """Everything an entry point needs, built once per process."""

    settings: Settings
    engine: Engine
    clock: Clock
    passwords: PasswordHasher
    security: Security = field(repr=False)
    session_factory: sessionmaker[Session] = field(repr=False)
    footage_override: Footage | None = field(default=None, repr=False)
    redactor_override: Redactor | None = field(default=None, repr=False)

    @functools.cached_property
    def footage(self) -> Footage:
        """Clip storage and video tools, built on first use (the web app may never need them)."""
        return self.footage_override or build_footage(self.settings, self.security.vault)

    @functools.cached_property
    def redactor(self) -> Redactor:
        """The face redaction engine; its model loads at the first redaction."""
        return self.redactor_override or build_redactor(self.settings)

    @functools.cached_property
    def redaction(self) -> RedactionKit:
        return RedactionKit(footage=self.footage, redactor=lambda: self.redactor,
                            workdir=self.settings.data_dir / "tmp" / "redaction")

    def uow(self) -> UnitOfWork:
        """A unit of work that writes the jobs its events call for and, once committed,
        hands them to the queue."""
        return SqlUnitOfWork(self.session_factory, self.clock, bus=self.bus,
                             wake=self.jobs.wake_all)

    @functools.cached_property
    def bus(self) -> MessageBus:
        # No sequencing jobs on the inline queue (tests, one-shot commands): nothing would
        # run a delayed one; the worker's sweep sequences what such commands wrote.
        every = self.settings.audit.batch_seconds
        inline = self.settings.job_backend == "inline"
        return MessageBus(sequence_every=None if inline else timedelta(seconds=every))

    @functools.cached_property
    def jobs(self) -> JobRunner:
        audit = self.settings.audit
        kit = JobKit(uow=self.uow, footage=lambda: self.footage, requests=self.requests_kit,
                     security=self.security, workdir=self.settings.data_dir / "tmp",
                     sequence=lambda: self.audit_sequencer().run_pass(),
                     collect_cosignatures=(self.collect_cosignatures
                                           if self.settings.audit.witnesses else None),
                     sequence_every=timedelta(seconds=audit.batch_seconds),
                     checkpoint_every=timedelta(seconds=audit.checkpoint_interval_seconds),
                     redaction=lambda: self.redaction, redactor=lambda: self.redactor)
        inline = self.settings.job_backend == "inline"
        grace = 0.0 if inline else self.settings.jobs.sweep_interval_seconds
        return JobRunner(self.uow, job_handlers.handlers(kit), self.queue,
                         lease=timedelta(seconds=self.settings.jobs.lease_seconds),
                         sweep_grace=timedelta(seconds=grace))

    @functools.cached_property
    def queue(self) -> JobQueue:
        run = self._run_job
        backend = self.settings.job_backend
        if backend == "inline":
            return InlineQueue(run)
        name = self.settings.jobs.queue_name
        if backend == "redis":
            return HueyQueue(redis_huey(self.settings.redis_url or "", name), run)
        return HueyQueue(sqlite_huey(self.settings.data_dir / "queue" / "wakeups.db", name), run)

    def _run_job(self, job_id: UUID) -> str:
        return self.jobs.run(job_id)

    def start_job_workers(self) -> QueueWorkers | None:
        """Threads that run jobs in this process (the web app, or `porchlight worker`)."""
        queue = self.queue
        if not isinstance(queue, HueyQueue):
            return None
        workers = queue.workers(self.settings.jobs.workers)
        workers.start()
        return workers

    @functools.cached_property
    def health(self) -> HealthCheck:
        return DatabaseHealth(self.engine)

    @functools.cached_property
    def requests_kit(self) -> RequestsKit:
        return RequestsKit(policy=scope_policy(self.settings), mailer=self.security.mailer,
                           base_url=self.settings.base_url)

    @staticmethod
    def make_demo_clip(path: Path, seed: int, label: str) -> Path:
        """A short real H.264 clip for the demo seed (encoded with PyAV)."""
        from porchlight.footage.adapters.video.demo import make_demo_clip  # loads FFmpeg: only here

        return make_demo_clip(path, seconds=4, seed=seed, label=label)

    def migrate(self) -> None:
        migrate.upgrade(self.engine)

    def check_migrations(self) -> None:
        migrate.check(self.engine)

    def close(self) -> None:
        footage = self.__dict__.get("footage")  # only if it was built
        if footage is not None and isinstance(footage.video, PyAvVideoTools):
            footage.video.close()
        self.engine.dispose()

    def audit_store(self) -> AuditLogStore:
        return SqlAuditLogStore(self.engine)

    def audit_sequencer(self) -> Sequencer:
        """The sequencer; it reads (or first creates) the signing key only when it signs."""
        settings, audit = self.settings, self.settings.audit
        return Sequencer(
            self.audit_store(),
            lambda: load_or_create_signer(settings.audit_key_file, settings.origin),
            self.clock,
            SequencerConfig(settings.origin, audit.batch_size,
                            timedelta(seconds=audit.checkpoint_interval_seconds),
                            timedelta(seconds=audit.batch_seconds), audit.pad_to),
        )

    def audit_verifier_key(self) -> str:
        """This deployment's public checkpoint key (AuditKeyError when there is none yet)."""
        return load_signer(self.settings.audit_key_file).verifier_key

    def audit_key_if_any(self) -> str:
        """The public checkpoint key, or "" while none was made (nothing is signed yet)."""
        try:
            return self.audit_verifier_key()
        except AuditKeyError:
            return ""

    def audit_openings(self, *, account_id: UUID | None = None,
                       agency_id: UUID | None = None) -> dict[str, Any]:
        """An openings export (audit.services.openings) for an account, an agency's
        staff, or with neither, every commitment (oversight)."""
        try:
            key = self.audit_verifier_key()
        except AuditKeyError:
            key = None  # no checkpoint signed yet: the export carries none either
        return audit_openings.export(self.audit_store(), self.settings.origin, key or "",
                                     account_id=account_id, agency_id=agency_id)

    def evidence_exports(self) -> ExportKit:
        """What an evidence export needs: the footage, the log for its custody proofs, and
        the log's key, which signs the manifest (read only when an export is made)."""
        settings = self.settings
        return ExportKit(footage=self.footage, log=self.audit_store(),
                         signer=lambda: load_or_create_signer(settings.audit_key_file,
                                                              settings.origin),
                         origin=settings.origin,
                         # the upload temp folder: its crash leftovers are swept
                         tempdir=private_dirs(settings.data_dir / "tmp" / "uploads"))

    def audit_source(self) -> AbstractContextManager[SqlAuditLogSource]:
        """The local log, on one snapshot, for `audit verify`."""
        return SqlAuditLogSource.open(self.engine)

    def witness_endpoints(self, clients: dict[str, WitnessClient] | None = None
                          ) -> list[WitnessEndpoint]:
        """The configured witnesses (PORCHLIGHT_AUDIT__WITNESSES); ``clients`` by name
        replaces the HTTP client (tests run witnesses in-process)."""
        endpoints = []
        for witness in self.settings.audit.witnesses:
            verifier = CosignatureVerifier(witness.key)
            if verifier.name != witness.name:
                raise CheckpointError(f"witness {witness.name!r} has a key named "
                                      f"{verifier.name!r}")
            client = (clients or {}).get(witness.name) or HttpWitnessClient(witness.url)
            endpoints.append(WitnessEndpoint(verifier, client))
        return endpoints

    def collect_cosignatures(self, clients: dict[str, WitnessClient] | None = None
                             ) -> list[Collected]:
        """Ask every configured witness to cosign the newest checkpoint."""
        return collect_cosignatures(self.audit_store(), self.witness_endpoints(clients))


def build(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    session_factory: sessionmaker[Session] | None = None,
    mailer: Mailer | None = None,
    footage: Footage | None = None,
    redactor: Redactor | None = None,
) -> Container:
    """Build the container; tests pass their own clock, engine or session factory."""
    settings = settings or Settings()
    if settings.env == "production":
        forbid_inspection()  # see kernel/adapters/process.py: the decoder children run as this user
    private_dirs(settings.data_dir)
    start_mappers()
    engine = engine or make_engine(settings.database_url, echo=settings.database.echo,
                                   pool_size=settings.database.pool_size)
    factory = session_factory or sessionmaker(engine, expire_on_commit=False)
    passwords = Argon2PasswordHasher(fast_for_tests=settings.env == "test")
    return Container(
        settings=settings,
        engine=engine,
        clock=clock or SystemClock(),
        passwords=passwords,
        security=build_security(settings, passwords, mailer or build_mailer(settings)),
        session_factory=factory,
        footage_override=footage,
        redactor_override=redactor,
    )


def build_footage(settings: Settings, vault: KeyVault) -> Footage:
    """Encrypted footage on the local folder (default) or an S3-compatible store."""
    storage = settings.storage
    if storage.backend == "s3":
        from porchlight.footage.adapters.store.s3 import S3ObjectStore  # boto3 only when chosen

        if not storage.s3_bucket:
            raise ValueError("PORCHLIGHT_STORAGE__S3_BUCKET is required when the backend is s3")
        objects = S3ObjectStore.connect(
            storage.s3_bucket, endpoint_url=storage.s3_endpoint_url, region=storage.s3_region,
            spool_dir=settings.data_dir / "spool")
    else:
        objects = LocalObjectStore(settings.storage_path)
    return Footage(store=EncryptedFootageStore(objects),
                   video=PyAvVideoTools(keep_spare=storage.video_spare_worker,
                                       zygote=storage.video_zygote), vault=vault,
                   max_upload_bytes=storage.max_upload_bytes)


def build_redactor(settings: Settings) -> Redactor:
    """The face redaction engine (an OnnxRedactor); its model is found and checked at the
    first use. Imported here, not at the top: numpy and the engine stay out of every other
    command's start."""
    from porchlight.redaction.adapters.engine import EngineSettings, OnnxRedactor

    options = settings.redaction
    return OnnxRedactor(EngineSettings(
        model_path=options.model_path, stride=options.stride,
        detection_width=options.detection_width, threshold=options.threshold,
        floor=options.floor, preset=options.x264_preset, crf=options.crf))


def scope_policy(settings: Settings) -> ScopePolicy:
    policy = settings.policy
    return ScopePolicy(
        officer_max_window=timedelta(minutes=policy.officer_max_window_minutes),
        officer_max_radius_m=policy.officer_max_radius_m,
        supervisor_max_window=timedelta(minutes=policy.supervisor_max_window_minutes),
        supervisor_max_radius_m=policy.supervisor_max_radius_m,
        max_retention_days=policy.max_evidence_retention_days,
        longest_camera_retention=timedelta(days=max(RETENTION_CHOICES_DAYS)),
        allow_federal=policy.allow_federal_requests,
        response_deadline=timedelta(days=policy.response_deadline_days),
        deletion_answer_days=policy.deletion_answer_days,
        min_group_size=policy.min_group_size,
        reach_previews=policy.reach_previews,
        reach_preview_window=timedelta(minutes=policy.reach_preview_minutes),
        reach_agency_previews=policy.reach_agency_previews_per_day,
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


def build_witness(name: str, key_file: Path, state_file: Path, logs: list[str]) -> Witness:
    """A tlog-witness named ``name`` with its key file and state, for the logs whose verifier
    keys are given (``origin=key``, or a key whose name is the origin)."""
    verifiers, origins = [], []
    for entry in logs:
        origin, _, key = entry.rpartition("=") if "=" in entry else ("", "", entry)
        verifier = CheckpointVerifier(key)
        origin = origin or verifier.name
        verifiers.append(CheckpointVerifier(key, origin=origin))
        origins.append(origin)
    signer = load_or_create_cosigner(key_file, name)
    return Witness(signer, verifiers, origins, SqliteWitnessState(state_file), SystemClock())


def witness_verifier_key(name: str, key_file: Path) -> str:
    return load_or_create_cosigner(key_file, name).verifier_key


def verified_checkpoint_file(directory: Path | None, verifier_key: str) -> VerifiedCheckpointFile:
    """Where `audit verify --url` keeps the last checkpoint it verified for this key."""
    return VerifiedCheckpointFile(directory or default_state_dir(), verifier_key)


def remote_audit_source(url: str) -> HttpAuditLogSource:
    """Another deployment's public audit API, for `audit verify --url`."""
    return HttpAuditLogSource(url)
