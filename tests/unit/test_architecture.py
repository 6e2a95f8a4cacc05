"""The layer rule is enforced: a forbidden import in the domain breaks the lint contract."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree, env={"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    if not LINT_IMPORTS.exists():
        pytest.fail("import-linter is a test dependency and must be installed")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "src" / "porchlight", tmp_path / "src" / "porchlight",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.mark.parametrize("module", ["sqlalchemy", "fastapi"])
def test_domain_importing_a_framework_breaks_the_contract(tree: Path, module: str) -> None:
    assert _lint(tree).returncode == 0
    target = tree / "src" / "porchlight" / "domain" / "cameras.py"
    target.write_text(f"import {module}  # noqa\n" + target.read_text())
    result = _lint(tree)
    assert result.returncode != 0
    assert "The domain is pure" in result.stdout
    assert f"porchlight.domain.cameras -> {module}" in result.stdout


def test_a_route_importing_an_adapter_breaks_the_contract(tree: Path) -> None:
    target = tree / "src" / "porchlight" / "entrypoints" / "web" / "pages.py"
    target.write_text("from porchlight.adapters.db import tables  # noqa\n" + target.read_text())
    result = _lint(tree)
    assert result.returncode != 0
    assert "Only bootstrap picks concrete adapters" in result.stdout
