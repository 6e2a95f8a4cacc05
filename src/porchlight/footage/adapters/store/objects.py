"""The raw object store under the encryption layer, and the key rules every backend shares.

The encryption layer needs little from storage: stage an object's bytes and then publish
it atomically (all bytes or none) or discard it, read a byte range, learn a size, delete,
list. Keeping that surface small is what lets one contract suite cover the local folder
and S3 alike.

Staging is a private local file (``StagingFile``), locked with ``flock`` by the process
that writes it from creation until it is gone (``services.temp_uploads``): the kernel
drops the lock when that process dies, however it dies, so ``sweep_staging`` removes
what a crash left, whatever its age, and never the staging of a live process sharing the
folder, however long that one waits for its caller's decision.

Keys are the same on every backend so that footage can move between them: segments of
``[A-Za-z0-9_.-]`` separated by ``/``, each starting with a letter, digit, ``_`` or ``-``.
That rules out ``..``, ``.``, hidden names, absolute paths, backslashes and empty
segments, and leaves names beginning with ``.`` free for temporary files, which no key
can then collide with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

from porchlight.footage.adapters.store.chunked import Readable
from porchlight.footage.adapters.store.errors import AlreadySettled, InvalidObjectKey
from porchlight.footage.services import temp_uploads
from porchlight.footage.services.temp_uploads import TempUpload
from porchlight.kernel.adapters.files import private_dirs

MAX_KEY_LENGTH = 1024
TEMP_PREFIX = ".porchlight-tmp-"

_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9_.-]*"
_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_PREFIX = re.compile(rf"(?:{_SEGMENT}/)*(?:{_SEGMENT})?")


class ObjectStore(Protocol):
    """Opaque byte objects by key. Implementations: ``LocalObjectStore``, ``S3ObjectStore``."""

    def stage(self, key: str) -> StagingFile:
        """A new staging file for ``key``: nothing is visible under the key until the
        caller writes the bytes and calls ``publish``; ``discard`` removes it."""
        ...

    def put(self, key: str, fill: Callable[[BinaryIO], None]) -> None:
        """Stage what ``fill`` writes and publish it; if ``fill`` raises, nothing changes."""
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

    def sweep_staging(self) -> int:
        """Remove staging files no live process holds (what a crash left); how many."""
        ...


State = Literal["staged", "published", "discarded"]


class StagingFile:
    """The bytes of one object on their way in: a locked 0600 file in ``folder``.

    ``write`` fills it; then exactly one of ``publish`` (the backend's ``move``: the
    object appears under its key all at once) or ``discard``. A ``publish`` that raises
    has discarded the staging file, and the key holds its previous object (none, for a
    new key) unless the failure came after the atomic step itself (syncing the folder
    after a rename), when it holds the complete new one. Leaving a ``with`` block with
    the file neither published nor discarded discards it.

    ``write_behind`` (bytes), when given, starts the disk's work while the file is still
    being written (``WriteBehind``); the backend's ``move`` still syncs the file itself.
    """

    def __init__(self, key: str, folder: Path, move: Callable[[TempUpload, str], None], *,
                 write_behind: int | None = None) -> None:
        self.key = check_key(key)
        if write_behind is not None and write_behind <= 0:
            raise ValueError("write-behind needs a positive interval (None turns it off)")
        self._move = move
        self._temp = temp_uploads.create(private_dirs(folder), prefix=TEMP_PREFIX)
        self._behind = WriteBehind(self._temp.fileno(), write_behind) if write_behind else None
        self.state: State = "staged"

    @property
    def path(self) -> Path:
        return self._temp.path

    def write(self, data: bytes | memoryview) -> None:
        self._temp.write(data)  # type: ignore[arg-type]
        if self._behind is not None:
            self._behind.wrote(len(data))

    def publish(self) -> None:
        if self.state != "staged":
            raise AlreadySettled(f"the staged object for {self.key!r} was {self.state}")
        try:
            self._temp.flush()
            if self._behind is not None:
                self._behind.finish()  # a failed early sync fails the publish
            self._move(self._temp, self.key)
        except BaseException:
            self.discard()
            raise
        self.state = "published"
        self._temp.discard()  # the name is gone (renamed) or a copy was uploaded; unlock

    def discard(self) -> None:
        """Remove the staging file; nothing becomes visible. Repeating it does nothing."""
        if self.state == "published":
            raise AlreadySettled(f"{self.key!r} is published: delete the object instead")
        self.state = "discarded"
        if self._behind is not None:
            self._behind.stop()  # no sync may still use the descriptor once it is closed
        self._temp.discard()

    def __enter__(self) -> StagingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.state == "staged":
            self.discard()


class WriteBehind:
    """Sync a file that is still being written, in the background: after every ``every``
    bytes written, one helper thread runs ``fdatasync`` on it (never two at a time).

    Why: a 200 MB object written into the page cache and synced only at the end makes the
    uploader wait for the disk to write all of it after the CPU work is done (~0.08 s on
    the benchmark machine). Synced as it goes, the disk writes while the CPU hashes and
    encrypts, and the final sync finds almost nothing left. Durability still rests on the
    final sync alone; this changes when the disk works, not what is guaranteed.

    An error of a background sync is raised by ``finish``, so the publish fails: Linux
    reports a writeback error to each open file once, so the final sync might not see
    it again and must not be trusted alone once a background sync has failed.
    """

    def __init__(self, fd: int, every: int) -> None:
        if every <= 0:
            raise ValueError("write-behind needs a positive interval")
        self._fd = fd
        self._every = every
        self._unsynced = 0
        self._pool: ThreadPoolExecutor | None = None
        self._sync: Future[None] | None = None

    def wrote(self, count: int) -> None:
        self._unsynced += count
        if self._unsynced < self._every or (self._sync is not None and not self._sync.done()):
            return
        if self._sync is not None:
            self._sync.result()  # an earlier failure stops the writer now
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write-behind")
        self._unsynced = 0
        self._sync = self._pool.submit(os.fdatasync, self._fd)

    def finish(self) -> None:
        """Wait for the sync in flight; raise its error, if it had one."""
        sync, self._sync = self._sync, None
        self._shutdown()
        if sync is not None:
            sync.result()

    def stop(self) -> None:
        """Wait for the sync in flight and forget its outcome (the file is being dropped)."""
        self._sync = None
        self._shutdown()

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


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


def sweep_staging_files(folder: Path) -> int:
    """Delete the staging files in ``folder`` that no live process holds (see the module)."""
    return temp_uploads.sweep(folder, prefix=TEMP_PREFIX)
