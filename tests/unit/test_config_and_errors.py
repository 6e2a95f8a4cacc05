"""Settings defaults, the production guard, and the domain-error → HTTP table."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from porchlight import bootstrap
from porchlight.config import Settings
from porchlight.entrypoints.errors import STATUS_BY_ERROR, status_for
from porchlight.kernel.domain import errors
from porchlight.kernel.domain.geo import MAX_SEARCH_RADIUS_M
from porchlight.requests.adapters import h3_cover as camera_search

SAFE_PRODUCTION = {
    "env": "production",
    "base_url": "https://porchlight.example.org",
    "keys": {
        "secret_key": "x" * 40,
        "key_file": "/etc/porchlight/kek.key",
        "audit_signing_key_file": "/etc/porchlight/audit.key",
    },
    "mail": {"backend": "smtp", "smtp_host": "mail.example.org"},
}


def test_defaults_run_with_no_services(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("PORCHLIGHT_"):
            monkeypatch.delenv(name)
    settings = Settings()
    assert settings.env == "development"
    assert settings.data_dir == Path("./var")
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("/var/porchlight.db")
    assert settings.storage.backend == "local"
    assert settings.policy.officer_max_radius_m == 300
    assert settings.policy.allow_federal_requests is False


def test_nested_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORCHLIGHT_DATABASE__URL", "postgresql+psycopg://db/porchlight")
    monkeypatch.setenv("PORCHLIGHT_POLICY__SUPERVISOR_MAX_RADIUS_M", "500")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://db/porchlight"
    assert settings.policy.supervisor_max_radius_m == 500


def test_stalled_upload_limits_have_defaults_and_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    storage = Settings().storage
    assert storage.upload_idle_timeout_seconds == 20.0
    assert storage.upload_min_bytes_per_second == 4096
    assert storage.upload_min_rate_window_seconds == 30.0
    monkeypatch.setenv("PORCHLIGHT_STORAGE__UPLOAD_IDLE_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("PORCHLIGHT_STORAGE__UPLOAD_MIN_BYTES_PER_SECOND", "0")  # no minimum
    monkeypatch.setenv("PORCHLIGHT_STORAGE__UPLOAD_MIN_RATE_WINDOW_SECONDS", "60")
    storage = Settings().storage
    assert (storage.upload_idle_timeout_seconds, storage.upload_min_bytes_per_second,
            storage.upload_min_rate_window_seconds) == (5.0, 0, 60.0)
    monkeypatch.setenv("PORCHLIGHT_STORAGE__UPLOAD_IDLE_TIMEOUT_SECONDS", "0")
    with pytest.raises(ValidationError, match="greater than 0"):
        Settings()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SUPERVISOR_MAX_RADIUS_M", "60000", "less than or equal to 50000"),
        ("OFFICER_MAX_RADIUS_M", "5", "greater than or equal to 10"),  # no request fits
        ("OFFICER_MAX_RADIUS_M", "700", "officer_max_radius_m is larger"),
        ("OFFICER_MAX_WINDOW_MINUTES", "800", "officer_max_window_minutes is longer"),
        ("RESPONSE_DEADLINE_DAYS", "0", "greater than 0"),
    ],
)
def test_a_policy_the_lookup_or_the_rules_cannot_honour_is_refused_at_start(
        monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str) -> None:
    """Refused when the settings load, not at the first delivery: a radius beyond what the
    camera lookup serves, or an officer allowed more than a supervisor."""
    monkeypatch.setenv(f"PORCHLIGHT_POLICY__{variable}", value)
    with pytest.raises(ValidationError, match=expected):
        Settings()


def test_the_policy_cap_is_the_lookups_own() -> None:
    assert MAX_SEARCH_RADIUS_M == camera_search.MAX_RADIUS_M


def test_production_refuses_default_secrets_and_missing_keys() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(env="production")
    message = str(refused.value)
    assert "SECRET_KEY is the development default" in message
    assert "KEY_FILE" in message
    assert "https://" in message


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("keys", "secret_key"), "short", "at least 32 characters"),
        (("keys", "key_file"), None, "KEY_FILE"),
        (("mail", "backend"), "log", "MAIL__BACKEND"),
        (("base_url",), "http://porchlight.example.org", "https://"),
    ],
)
def test_production_names_each_unsafe_setting(path: tuple, value: object, expected: str) -> None:
    config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in SAFE_PRODUCTION.items()}
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError, match=expected):
        Settings(**config)


def test_a_safe_production_configuration_is_accepted() -> None:
    assert Settings(**SAFE_PRODUCTION).env == "production"


def test_every_domain_error_has_one_status() -> None:
    assert status_for(errors.NotFound("x")) == 404
    assert status_for(errors.PermissionDenied("x")) == 403
    assert status_for(errors.NotAuthenticated("x")) == 401
    assert status_for(errors.Conflict("x")) == 409
    assert status_for(errors.ValidationFailed("x")) == 422
    refused = errors.PolicyRefused("radius", "radius 900 m is over the 650 m limit")
    assert status_for(refused) == 422
    assert refused.code == "policy_refused.radius"
    leaves = {
        cls for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.DomainError)
        and cls is not errors.DomainError
    }
    for cls in leaves:  # every error maps, directly or through the class it refines
        assert any(base in STATUS_BY_ERROR for base in cls.__mro__), cls
    assert status_for(errors.SigninRefused()) == 401
    assert status_for(errors.UploadStalled("x")) == 408
    assert errors.UploadStalled("x").code == "upload_stalled"


class _Hardened(Exception):
    """Raised by the stand-in for forbid_inspection, to stop the build right there."""


def test_a_production_container_hardens_its_process_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def record() -> bool:
        raise _Hardened

    monkeypatch.setattr(bootstrap, "forbid_inspection", record)
    with pytest.raises(_Hardened):
        bootstrap.build(Settings(**SAFE_PRODUCTION))
