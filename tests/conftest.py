"""Shared fixtures: settings in a temporary data folder, and the optional real services.

Tests that need PostgreSQL or Chromium skip with the reason when the environment does not
point at them. CI sets PORCHLIGHT_TEST_REQUIRE_ALL=1, which turns such a skip into a
failure so a green CI run means those tests really ran.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from porchlight.config import Settings

POSTGRES_URL = os.environ.get("PORCHLIGHT_TEST_POSTGRES_URL")
CHROMIUM = os.environ.get("PORCHLIGHT_TEST_CHROMIUM") or shutil.which("chromium")
REQUIRE_ALL = os.environ.get("PORCHLIGHT_TEST_REQUIRE_ALL") == "1"


def skip_or_fail(reason: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"PORCHLIGHT_TEST_REQUIRE_ALL is set but: {reason}")
    pytest.skip(reason)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "var")


@pytest.fixture(autouse=True)
def _verify_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`audit verify --url` remembers checkpoints per user: never in the tester's home."""
    monkeypatch.setenv("PORCHLIGHT_VERIFY_STATE_DIR", str(tmp_path / "verify-state"))
