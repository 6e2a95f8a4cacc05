"""Objects as files under one root folder: the embedded, one-machine backend.

A write goes to a staging file in ``<root>/.staging`` (under the root, so on the same file
system and the final rename is atomic; a hidden folder, so no key can name it). Publishing
flushes and fsyncs it, renames it over the final name with ``os.replace`` and fsyncs the
folder, so the rename itself survives a power cut. Readers therefore see the old object or
the new one, never a mix. While a staging file is written, the disk is already set to work
on it every ``WRITE_BEHIND`` bytes (``objects.WriteBehind``), so the fsync at publishing
finds little left to write instead of making the uploader wait for all of it. Staging
files are locked by their writer while they exist (``objects.StagingFile``), so
``sweep_staging`` removes what a crash left and nothing else.

Files are created 0600 and folders 0700: footage is ciphertext, but its names and sizes
are still nobody else's business on a shared machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from porchlight.footage.adapters.store.errors import FootageNotFound
from porchlight.footage.adapters.store.objects import (
    StagingFile,
    check_key,
    check_prefix,
    is_valid_key,
    sweep_staging_files,
)
from porchlight.footage.services.temp_uploads import TempUpload
from porchlight.kernel.adapters.files import private_dirs

COPY_BUFFER = 1 << 20
STAGING = ".staging"
WRITE_BEHIND = 16 << 20  # sync staging as it is written, every 16 MiB (objects.WriteBehind)


class LocalObjectStore:
    """The ``ObjectStore`` port on a local folder, created (0700) if missing."""

    def __init__(self, root: Path, *, write_behind: int | None = WRITE_BEHIND) -> None:
        self.root = root.resolve()
        self.staging = self.root / STAGING
        self.write_behind = write_behind
        private_dirs(self.staging)

    def stage(self, key: str) -> StagingFile:
        return StagingFile(key, self.staging, self._move_into_place,
                           write_behind=self.write_behind)

    def put(self, key: str, fill: Callable[[BinaryIO], None]) -> None:
        with self.stage(key) as staged:
            fill(staged)  # type: ignore[arg-type]
            staged.publish()

    def put_file(self, key: str, source: Path) -> None:
        with source.open("rb") as src:
            self.put(key, lambda out: shutil.copyfileobj(src, out, COPY_BUFFER))

    @contextmanager
    def open_range(self, key: str, start: int, end: int) -> Iterator[_Bounded]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise FootageNotFound(f"no footage object {key!r}") from None
        with handle:
            handle.seek(start)
            yield _Bounded(handle, max(end - start, 0))

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise FootageNotFound(f"no footage object {key!r}") from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root / check_prefix(prefix).rpartition("/")[0]
        for folder, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            relative = Path(folder).relative_to(self.root).as_posix()
            for name in sorted(files):
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix) and is_valid_key(key):
                    yield key

    def sweep_staging(self) -> int:
        return sweep_staging_files(self.staging)

    def _move_into_place(self, staged: TempUpload, key: str) -> None:
        """Publish: the bytes reach the disk, then one rename makes them the object."""
        os.fsync(staged.fileno())
        path = self._path(key)
        private_dirs(path.parent)
        os.replace(staged.path, path)
        _fsync_dir(path.parent)

    def _path(self, key: str) -> Path:
        """The file for ``key``; the key rules already keep it under the root."""
        return self.root.joinpath(*check_key(key).split("/"))


class _Bounded:
    """A read-only view of at most ``remaining`` bytes of a file, from its position."""

    def __init__(self, handle: BinaryIO, remaining: int) -> None:
        self._handle = handle
        self._remaining = remaining

    def read(self, size: int = -1, /) -> bytes:
        wanted = self._remaining if size < 0 else min(size, self._remaining)
        data = self._handle.read(wanted)
        self._remaining -= len(data)
        return data


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
