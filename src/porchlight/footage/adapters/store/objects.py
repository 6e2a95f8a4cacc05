"""The raw object store under the encryption layer, and the key rules every backend shares.

The encryption layer needs little from storage: write an object atomically (all bytes or
none), read a byte range, learn a size, delete, list. Keeping that surface small is what
lets one contract suite cover the local folder and S3 alike.

Keys are the same on every backend so that footage can move between them: segments of
``[A-Za-z0-9_.-]`` separated by ``/``, each starting with a letter, digit, ``_`` or ``-``.
That rules out ``..``, ``.``, hidden names, absolute paths, backslashes and empty
segments, and leaves names beginning with ``.`` free for temporary files, which no key
can then collide with.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol

from porchlight.footage.adapters.store.chunked import Readable
from porchlight.footage.adapters.store.errors import InvalidObjectKey

MAX_KEY_LENGTH = 1024
TEMP_PREFIX = ".porchlight-tmp-"

_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9_.-]*"
_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_PREFIX = re.compile(rf"(?:{_SEGMENT}/)*(?:{_SEGMENT})?")


class ObjectStore(Protocol):
    """Opaque byte objects by key. Implementations: ``LocalObjectStore``, ``S3ObjectStore``."""

    def put(self, key: str, fill: Callable[[BinaryIO], None]) -> None:
        """Atomically store what ``fill`` writes into the staging file it is handed.

        If ``fill`` (or anything after it) raises, no object is created or replaced and
        the staging file is removed. Streaming into the store this way means a caller
        that produces bytes (an encryptor) needs no temporary file of its own.
        """
        ...

    def put_file(self, key: str, source: Path) -> None:
        """Atomically store a copy of a local file."""
        ...

    def open_range(self, key: str, start: int, end: int) -> AbstractContextManager[Readable]:
        """A stream of bytes [start, end); shorter if the object is. Missing key: not found."""
        ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix``, in no guaranteed order."""
        ...

    def sweep_temp(self, older_than_seconds: float) -> int:
        """Remove staging files a crash left behind; returns how many were removed."""
        ...


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise ``InvalidObjectKey``."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidObjectKey(f"unsafe object key {key!r}")
    return key


def is_valid_key(key: str) -> bool:
    return len(key) <= MAX_KEY_LENGTH and _KEY.fullmatch(key) is not None


def check_prefix(prefix: str) -> str:
    """A listing prefix must be the start of some valid key (so it cannot climb out)."""
    if len(prefix) > MAX_KEY_LENGTH or not _PREFIX.fullmatch(prefix):
        raise InvalidObjectKey(f"unsafe key prefix {prefix!r}")
    return prefix


def sweep_temp_files(directory: Path, older_than_seconds: float, *, recursive: bool) -> int:
    """Delete staging files under ``directory`` last modified more than the given age ago.

    Fresh ones are kept because they may belong to a write still in progress.
    """
    if not directory.is_dir():
        return 0
    cutoff = time.time() - older_than_seconds
    pattern = f"**/{TEMP_PREFIX}*" if recursive else f"{TEMP_PREFIX}*"
    removed = 0
    for path in directory.glob(pattern):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # finished or swept by someone else meanwhile
    return removed
