"""Upload temp files: a sweep removes every file no live process holds, at once, and no other.

Several app processes may share one data folder; each holds an exclusive lock on its
in-flight temp files, and a sweep (at start-up, in retention) removes only files it can lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from porchlight.footage.services import retention, temp_uploads

HOLDER = """
import sys
from pathlib import Path
from porchlight.footage.services import temp_uploads
held = temp_uploads.create(Path(sys.argv[1]))
held.write(b"half a clip")
held.flush()
print(held.path, flush=True)
sys.stdin.read()  # hold it until the test kills this process
"""


def test_a_file_nobody_holds_is_removed_at_once_and_a_held_one_is_not(tmp_path: Path) -> None:
    held = temp_uploads.create(tmp_path)
    held.write(b"in flight")
    held.flush()
    stale = tmp_path / "0123abcd.part"  # what a crash left a moment ago: no lock, fresh mtime
    stale.write_bytes(b"left behind")
    assert oct(held.path.stat().st_mode & 0o777) == "0o600"

    assert retention.sweep_temp_uploads(tmp_path) == 1
    assert not stale.exists() and held.path.read_bytes() == b"in flight"
    held.discard()
    held.discard()  # idempotent
    assert list(tmp_path.iterdir()) == []
    assert retention.sweep_temp_uploads(tmp_path / "missing") == 0


def test_another_live_process_keeps_its_file_until_it_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        path = Path(holder.stdout.readline().strip())
        assert path.read_bytes() == b"half a clip"
        assert temp_uploads.sweep(tmp_path) == 0
        assert path.exists()
    finally:
        holder.kill()  # a crash: the process never deletes its file
        holder.wait(timeout=30)
    assert path.exists()
    assert temp_uploads.sweep(tmp_path) == 1
    assert not path.exists()


def test_a_sweep_between_create_and_lock_makes_the_owner_start_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_lock = temp_uploads._lock
    swept: list[int] = []

    def sweep_first(fd: int) -> bool:
        if swept:
            return real_lock(fd)
        swept.append(0)  # another process's sweep gets in before the owner's first flock
        swept[0] = temp_uploads.sweep(tmp_path)
        return real_lock(fd)

    monkeypatch.setattr(temp_uploads, "_lock", sweep_first)
    held = temp_uploads.create(tmp_path)
    assert swept == [1]  # the sweep took the first file, unlocked as it was
    assert list(tmp_path.iterdir()) == [held.path]
    monkeypatch.setattr(temp_uploads, "_lock", real_lock)
    assert temp_uploads.sweep(tmp_path) == 0  # and the owner holds the one it kept
    held.discard()


def test_a_sweep_leaves_folders_and_links_alone(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.write_bytes(b"not ours")
    os.symlink(outside, tmp_path / "link.part")
    assert temp_uploads.sweep(tmp_path) == 0
    assert outside.exists() and (tmp_path / "folder").is_dir()
