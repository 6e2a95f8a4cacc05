"""The transparency-dev/merkle RFC 6962 proof vectors, one test per file.

A correct verifier accepts exactly the vectors with ``wantErr: false``.  The vectors are a
verbatim copy in tests/data/rfc6962 so the suite does not depend on anything outside the repo.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from porchlight.audit.domain import ProofError, verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[2] / "data" / "rfc6962"


def _vector_files(kind: str) -> list[Path]:
    # inclusion/additional/0..3 are not JSON: they are `git show` listings of folders whose
    # files were not part of the copy, so they hold no test case.
    return sorted((VECTORS / kind).rglob("*.json"))


def _ids(paths: list[Path]) -> list[str]:
    return [path.relative_to(VECTORS).as_posix() for path in paths]


def _load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return vector


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(item) for item in vector["proof"] or []]


INCLUSION = _vector_files("inclusion")
CONSISTENCY = _vector_files("consistency")


def test_the_vector_corpus_is_present() -> None:
    # Guards against an empty parametrisation silently passing.
    assert len(INCLUSION) >= 50
    assert len(CONSISTENCY) >= 50
    assert (VECTORS / "LICENSE").is_file()


@pytest.mark.parametrize("path", INCLUSION, ids=_ids(INCLUSION))
def test_inclusion_vector(path: Path) -> None:
    vector = _load(path)
    arguments = (
        _b64(vector["leafHash"]),
        vector["leafIdx"],
        vector["treeSize"],
        _proof(vector),
        _b64(vector["root"]),
    )
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*arguments)
    else:
        verify_inclusion(*arguments)


@pytest.mark.parametrize("path", CONSISTENCY, ids=_ids(CONSISTENCY))
def test_consistency_vector(path: Path) -> None:
    vector = _load(path)
    arguments = (
        vector["size1"],
        vector["size2"],
        _proof(vector),
        _b64(vector["root1"]),
        _b64(vector["root2"]),
    )
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*arguments)
    else:
        verify_consistency(*arguments)
