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
        cwd=tree, env={"PYTHONPATH": f"{tree / 'src'}:{tree / 'tools'}", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    if not LINT_IMPORTS.exists():
        pytest.fail("import-linter is a test dependency and must be installed")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "src" / "porchlight", tmp_path / "src" / "porchlight",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tools", tmp_path / "tools",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _add_import(tree: Path, module_file: str, module: str) -> None:
    target = tree / "src" / "porchlight" / module_file
    target.write_text(f"import {module}  # noqa\n" + target.read_text())


# numpy, boto3 and av are no framework anyone thought to forbid: the allow-list catches them
@pytest.mark.parametrize("module", ["sqlalchemy", "fastapi", "numpy", "boto3", "av"])
def test_domain_importing_anything_but_the_standard_library_breaks_the_contract(
        tree: Path, module: str) -> None:
    assert _lint(tree).returncode == 0
    _add_import(tree, "footage/domain/cameras.py", module)
    result = _lint(tree)
    assert result.returncode != 0
    assert "The domain is pure" in result.stdout
    assert f"porchlight.footage.domain.cameras -> {module}" in result.stdout


@pytest.mark.parametrize(("module", "kept"), [("boto3", False), ("cryptography", True)])
def test_the_audit_log_may_import_cryptography_and_nothing_else(
        tree: Path, module: str, kept: bool) -> None:
    _add_import(tree, "audit/domain/tree.py", module)
    result = _lint(tree)
    assert (result.returncode == 0) is kept, result.stdout


@pytest.mark.parametrize("module", ["sqlalchemy", "boto3", "av", "httpx"])
def test_a_use_case_importing_infrastructure_breaks_the_contract(tree: Path, module: str) -> None:
    _add_import(tree, "footage/services/cameras.py", module)
    result = _lint(tree)
    assert result.returncode != 0
    assert "Use cases import no infrastructure" in result.stdout


def test_a_route_importing_an_adapter_breaks_the_contract(tree: Path) -> None:
    target = tree / "src" / "porchlight" / "entrypoints" / "web" / "pages.py"
    line = "from porchlight.kernel.adapters.db import tables  # noqa\n"
    target.write_text(line + target.read_text())
    result = _lint(tree)
    assert result.returncode != 0
    assert "Only bootstrap picks concrete adapters" in result.stdout


@pytest.mark.parametrize(("module_file", "module", "contract"), [
    # a use case of one capability reaching another capability's adapter
    ("requests/services/video_requests.py", "porchlight.footage.adapters.vault",
     "Only bootstrap picks concrete adapters"),
    # a domain reaching up into its own capability's use cases
    ("requests/domain/requests.py", "porchlight.requests.services.reach",
     "Layers inside every capability"),
    # a domain reaching another capability's use cases
    ("footage/domain/clips.py", "porchlight.requests.services.reach",
     "The domain is pure"),
    # a capability reaching up into the web layer
    ("custody/services/evidence.py", "porchlight.entrypoints.web.render",
     "Layers: entrypoints -> bootstrap -> the capabilities"),
])
def test_a_capability_crossing_its_layers_breaks_the_contract(
        tree: Path, module_file: str, module: str, contract: str) -> None:
    _add_import(tree, module_file, module)
    result = _lint(tree)
    assert result.returncode != 0
    assert any(line.startswith(contract) and line.rstrip().endswith("BROKEN")
               for line in result.stdout.splitlines()), result.stdout
