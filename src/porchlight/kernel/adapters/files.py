"""Private files and folders: everything Porchlight writes is for this user alone.

Folders are 0700 and files 0600 whatever the umask: ``mkdir -p`` and ``open`` apply the
umask to the mode they are given, and a folder created by a parent ``mkdir`` gets the
default, so each level is created and then set explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dirs(path: Path) -> Path:
    """Create ``path`` and its missing parents, each 0700; tighten ``path`` if it exists."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # created concurrently by another process
        folder.chmod(DIR_MODE)  # the umask may have removed bits we rely on
    if path.stat().st_mode & 0o077:
        path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists as a 0600 file (created empty if missing)."""
    private_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path
