"""Everything Porchlight writes in its data folder is for its own user alone."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from porchlight import bootstrap
from porchlight.config import Settings
from porchlight.entrypoints.app import create_app
from porchlight.entrypoints.auth import CSRF_COOKIE


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: 0644 files, 0755 folders
    yield
    os.umask(previous)


def modes(root: Path) -> dict[str, str]:
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def test_database_wal_mail_log_and_folders_are_private(tmp_path: Path, loose_umask) -> None:
    data_dir = tmp_path / "var"
    container = bootstrap.build(Settings(env="test", data_dir=data_dir))
    container.migrate()
    app = create_app(container=container)
    held = container.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with TestClient(app) as browser, held:
        held.execute(text("SELECT count(*) FROM accounts"))  # keeps the -wal and -shm open
        browser.get("/healthz")
        nonce = browser.cookies.get(CSRF_COOKIE)
        token = hmac.new(app.state.csrf_key, nonce.encode(), hashlib.sha256).hexdigest()
        answer = browser.post("/register", follow_redirects=False, data={
            "email": "new@example.org", "display_name": "New", "password": "a long passphrase 42",
            "home_lat": "45.51", "home_lon": "-122.65", "csrf_token": token})
        assert "Check your e-mail" in answer.text
        found = modes(data_dir)
    container.close()
    for name in (".", "porchlight.db", "porchlight.db-wal", "porchlight.db-shm", "mail.log"):
        assert found.get(name) in ("0o600", "0o700"), (name, found.get(name))
    loose = {name: mode for name, mode in found.items() if mode not in ("0o600", "0o700")}
    assert loose == {}
    assert all(found[name] == "0o700" for name in found if (data_dir / name).is_dir())


def test_an_existing_loose_database_is_tightened(tmp_path: Path, loose_umask) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    (data_dir / "porchlight.db").touch(mode=0o644)
    container = bootstrap.build(Settings(env="test", data_dir=data_dir))
    container.migrate()
    container.close()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "porchlight.db").stat().st_mode) == 0o600
