"""Upload temp files that say whether anyone still needs them: an exclusive ``flock``.

Several server processes may share one data folder (N app processes behind a proxy, and
the worker), so a sweep cannot tell from a file's name or age whether a live upload is
still writing or reading it. The rule instead: the process that creates a temp file holds
an exclusive ``flock`` on it from creation until it has deleted it. The kernel drops the
lock when that process ends, however it ends, so:

- a file whose lock a sweep can take has no owner (its process crashed or was killed)
  and is removed at once, whatever its age;
- a file whose lock is held belongs to a live upload and is never touched.

Creation closes the one gap: a sweep that takes the lock between the owner's create and
its ``flock`` removes the file, and the owner, which checks after locking that its path
still names the file it holds, starts again with a new name.

``flock`` is as good as the file system under the folder: a local disk, as
``<data_dir>/tmp`` should be, not a network share that does not honour it.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path

SUFFIX = ".part"
ATTEMPTS = 5


class TempUpload:
    """A locked temp file; ``discard`` deletes it and then gives up the lock."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:
        return self._file.fileno()

    def discard(self) -> None:
        """Delete the file, then close it. Safe to call more than once."""
        self.path.unlink(missing_ok=True)
        self._file.close()


def create(folder: Path, *, prefix: str = "") -> TempUpload:
    """A new, empty temp file in ``folder`` (mode 0600), locked by this process; its name
    starts with ``prefix``."""
    for _ in range(ATTEMPTS):
        path = folder / f"{prefix}{uuid.uuid4().hex}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if _lock(fd) and _names(path, fd):
                return TempUpload(path, fd)
        except BaseException:
            path.unlink(missing_ok=True)
            os.close(fd)
            raise
        os.close(fd)  # a sweep took it before we locked it, and removes it
    raise OSError(f"could not create a locked temp file in {folder}")


def sweep(folder: Path, *, prefix: str = "") -> int:
    """Remove every file in ``folder`` whose name starts with ``prefix`` and that no live
    process holds; returns how many."""
    if not folder.exists():
        return 0
    removed = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if (entry.name.startswith(prefix) and entry.is_file(follow_symlinks=False)
                    and _remove_if_unowned(Path(entry.path))):
                removed += 1
    return removed


def _remove_if_unowned(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False  # gone already, or not something this code wrote
    try:
        if not _lock(fd):
            return False  # a live upload holds it
        try:
            path.unlink()
        except FileNotFoundError:
            return False  # another sweep removed it first
        return True
    finally:
        os.close(fd)


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the open file ``fd`` (no sweep removed it)."""
    try:
        found = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (found.st_dev, found.st_ino) == (held.st_dev, held.st_ino)
