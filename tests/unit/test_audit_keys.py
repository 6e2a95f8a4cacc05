"""The checkpoint signing key file: created once, 0600, never overwritten, never shared."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from porchlight.audit.adapters.keys import _create, load_or_create_signer, load_signer
from porchlight.audit.domain import CheckpointSigner
from porchlight.audit.services.ports import AuditKeyError


def test_the_key_is_created_once_owner_only_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit.key"
    first = load_or_create_signer(path, "example.org/log")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("PRIVATE+KEY+example.org/log+")
    assert load_or_create_signer(path, "ignored/now").verifier_key == first.verifier_key
    assert load_signer(path).verifier_key == first.verifier_key
    assert [p.name for p in path.parent.iterdir()] == ["audit.key"]  # no temporary left


def test_a_key_created_by_someone_else_first_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    winner = load_or_create_signer(path, "a/log")
    _create(path, CheckpointSigner.generate("b/log").signer_key)  # lost the race
    assert load_signer(path).verifier_key == winner.verifier_key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.key"]


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    load_or_create_signer(path, "a/log")
    path.chmod(0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        load_signer(path)


@pytest.mark.parametrize("content", ["", "PRIVATE+KEY+a/log+00000000+AAAA", "hello"])
def test_a_file_without_a_valid_key_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "audit.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(AuditKeyError, match="does not hold an audit signing key"):
        load_signer(path)


def test_a_missing_key_is_reported_not_created_by_the_loader(tmp_path: Path) -> None:
    with pytest.raises(AuditKeyError, match="no audit signing key"):
        load_signer(tmp_path / "audit.key")
    assert not (tmp_path / "audit.key").exists()
