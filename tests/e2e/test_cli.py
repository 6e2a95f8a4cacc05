"""The command line: migrations, the demo seed and its logins."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from porchlight.entrypoints.cli import app
from porchlight.kernel.adapters.db import tables

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "var"
    monkeypatch.setenv("PORCHLIGHT_DATA_DIR", str(data))
    monkeypatch.setenv("PORCHLIGHT_ENV", "test")
    monkeypatch.delenv("PORCHLIGHT_DATABASE__URL", raising=False)
    return data


def _count(data_dir: Path, table) -> int:
    engine = create_engine(f"sqlite:///{data_dir / 'porchlight.db'}")
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return count


def test_db_upgrade_then_check(data_dir: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (data_dir / "porchlight.db").exists()
    result = runner.invoke(app, ["db", "check"])
    assert result.exit_code == 0, result.output
    assert "agree" in result.output


def test_demo_seed_builds_a_neighbourhood_once(data_dir: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert _count(data_dir, tables.accounts) > 200
    assert _count(data_dir, tables.agencies) == 3
    cameras = _count(data_dir, tables.cameras)
    assert cameras > 100
    assert _count(data_dir, tables.audit_events) > cameras
    assert _count(data_dir, tables.clips) == 20  # real clips, uploaded through the service
    assert _count(data_dir, tables.posts) == 5  # four residents' posts, one agency notice

    logins = data_dir / "demo-logins.json"
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600
    roles = {login["role"] for login in json.loads(logins.read_text())}
    assert {"platform admin", "resident A", "resident B"} <= roles
    assert any("officer" in role for role in roles) and any("supervisor" in r for r in roles)
    assert "demo-" not in result.output  # no password printed by the seed
    shown = runner.invoke(app, ["demo", "logins"])
    assert "only when PORCHLIGHT_ENV=development" in shown.output  # env=test: not printed

    again = runner.invoke(app, ["demo", "seed"])
    assert again.exit_code == 1 and "already has data" in again.output
    quiet = runner.invoke(app, ["demo", "seed", "--if-empty"])
    assert quiet.exit_code == 0 and "not seeding" in quiet.output
    assert _count(data_dir, tables.cameras) == cameras


def test_demo_logins_are_printed_in_development(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["demo", "seed", "--no-clips"]).exit_code == 0
    monkeypatch.setenv("PORCHLIGHT_ENV", "development")
    result = runner.invoke(app, ["demo", "logins"])  # a pipe, not a terminal: 80 columns
    assert result.exit_code == 0
    logins = json.loads((data_dir / "demo-logins.json").read_text())
    lines = result.output.splitlines()
    for login in logins:  # each value whole on a line of its own: readable, copyable
        assert f"    e-mail:   {login['email']}" in lines
        assert f"    password: {login['password']}" in lines
    first = logins[0]
    assert f"    TOTP secret: {first['totp_secret']}" in lines  # the admin's authenticator
    assert not any(mark in result.output for mark in "│┃━…")  # no table cut to fit
    code = runner.invoke(app, ["demo", "totp", first["email"]])
    assert code.exit_code == 0
    assert code.output.strip() == pyotp.TOTP(first["totp_secret"]).now() or (
        code.output.strip() == pyotp.TOTP(first["totp_secret"]).at(time.time() - 30))
    assert runner.invoke(app, ["demo", "totp", "nobody@example.org"]).exit_code == 1


def test_production_refuses_to_start_with_default_secrets(data_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORCHLIGHT_ENV", "production")
    result = runner.invoke(app, ["demo", "seed"])
    assert result.exit_code != 0
    assert "refusing to start in production" in str(result.exception)
    assert not (data_dir / "porchlight.db").exists()


def test_serve_in_development_names_its_own_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """E-mailed links and the /audit verify command point at the server being started."""
    import uvicorn

    seen: list[str | None] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.append(
        __import__("os").environ.get("PORCHLIGHT_BASE_URL")))
    monkeypatch.setenv("PORCHLIGHT_ENV", "development")
    monkeypatch.setenv("PORCHLIGHT_BASE_URL", "unset")
    monkeypatch.delenv("PORCHLIGHT_BASE_URL")  # restored after the test, whatever serve sets
    assert runner.invoke(app, ["serve", "--port", "8123"]).exit_code == 0
    monkeypatch.delenv("PORCHLIGHT_BASE_URL")
    assert runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9000"]).exit_code == 0
    monkeypatch.setenv("PORCHLIGHT_BASE_URL", "https://porchlight.example.org")
    assert runner.invoke(app, ["serve", "--port", "8124"]).exit_code == 0  # set: kept
    monkeypatch.delenv("PORCHLIGHT_BASE_URL")
    monkeypatch.setenv("PORCHLIGHT_ENV", "test")
    assert runner.invoke(app, ["serve", "--port", "8125"]).exit_code == 0  # not development
    assert seen == ["http://127.0.0.1:8123", "http://127.0.0.1:9000",
                    "https://porchlight.example.org", None]


def test_serve_starts_several_web_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """--workers hands uvicorn the process count (it then needs the app as an import
    string, which serve always passes); --reload with several processes is refused."""
    import uvicorn

    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **k: seen.append((app, k["workers"])))
    assert runner.invoke(app, ["serve", "--workers", "3"]).exit_code == 0
    assert runner.invoke(app, ["serve"]).exit_code == 0
    assert seen == [("porchlight.entrypoints.app:create_app", 3),
                    ("porchlight.entrypoints.app:create_app", 1)]
    assert runner.invoke(app, ["serve", "--workers", "2", "--reload"]).exit_code == 2
