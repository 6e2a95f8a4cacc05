"""One contract for encrypted footage, run on the local folder and on a real S3 server.

The S3 run talks HTTP to moto's standalone server on 127.0.0.1 (started here, on a free
port) with a bucket this module creates, so boto3's real request path (ranged GETs,
multipart uploads, paginated listings) is what is exercised. Failures are injected by
wrapping the object store, never by sleeping; crashes are real: a child process that
seals (and publishes) and then SIGKILLs itself.

Writing is two steps: ``seal`` encrypts into staging and returns a handle (size,
SHA-256) with nothing visible yet; ``publish`` makes the object appear all at once, or
``discard`` removes the staging. Every test checks that no staging file is left over.
"""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import threading
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from moto.server import ThreadedMotoServer

from porchlight.footage.adapters.store import (
    AlreadySettled,
    EncryptedFootageStore,
    FootageCorrupt,
    FootageNotFound,
    FootageRangeError,
    InvalidObjectKey,
    LocalObjectStore,
    ObjectStore,
    SealedFootage,
    SourceChanged,
    StagingFile,
)
from porchlight.footage.adapters.store.objects import TEMP_PREFIX
from porchlight.footage.adapters.store.s3 import S3ObjectStore
from porchlight.kernel.domain.errors import NotFound

CHUNK = 1024
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
MiB = 1 << 20


@dataclass
class Backend:
    name: str
    objects: ObjectStore
    staging: Path  # where this backend's staging files live (searched recursively)
    fail_commit: Callable[[pytest.MonkeyPatch], None]  # make the final commit step fail
    child_args: list[str]  # how a child process builds the same object store

    def footage(self, chunk_size: int = CHUNK) -> EncryptedFootageStore:
        return EncryptedFootageStore(self.objects, chunk_size=chunk_size)

    def staging_files(self) -> list[Path]:
        return sorted(self.staging.rglob(f"{TEMP_PREFIX}*"))


class _Hooked:
    """A staging file whose ``write`` first calls a hook (which may raise)."""

    def __init__(self, staged: StagingFile, hook: Callable[[int], None]) -> None:
        self._staged, self._hook, self._written = staged, hook, 0

    def write(self, data: bytes) -> None:
        self._hook(self._written)
        self._written += len(data)
        self._staged.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._staged, name)


class HookedWrites:
    """An ObjectStore whose ``stage`` hands out hooked staging files."""

    def __init__(self, inner: ObjectStore, hook: Callable[[int], None]) -> None:
        self._inner, self._hook = inner, hook

    def stage(self, key: str) -> StagingFile:
        return _Hooked(self._inner.stage(key), self._hook)  # type: ignore[return-value]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def disk_full_after(limit: int) -> Callable[[int], None]:
    def hook(written: int) -> None:
        if written >= limit:
            raise OSError(28, "No space left on device")

    return hook


def raise_io_error(*_args: object, **_kwargs: object) -> None:
    raise OSError(5, "simulated I/O failure")


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_client() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto accepts any credentials
    )
    server.stop()


def new_bucket(client: Any) -> str:
    bucket = f"footage-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return bucket


def local_backend(tmp_path: Path) -> Backend:
    objects = LocalObjectStore(tmp_path / "footage")

    def fail_commit(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(os, "fsync", raise_io_error)

    return Backend("local", objects, objects.root, fail_commit, ["local", str(objects.root)])


def s3_backend(tmp_path: Path, client: Any) -> Backend:
    spool = tmp_path / "spool"
    small_parts = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    objects = S3ObjectStore(
        new_bucket(client), client, transfer_config=small_parts, spool_dir=spool
    )

    def fail_commit(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(client, "upload_file", raise_io_error)

    where = f"{client.meta.endpoint_url}|{objects.bucket}|{spool}"
    return Backend("s3", objects, spool, fail_commit, ["s3", where])


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return local_backend(tmp_path)
    return s3_backend(tmp_path, request.getfixturevalue("s3_client"))


@pytest.fixture
def clip(tmp_path: Path) -> Callable[[bytes], Path]:
    def write(data: bytes) -> Path:
        path = tmp_path / f"upload-{uuid.uuid4().hex}.mp4"
        path.write_bytes(data)
        return path

    return write


def read_all(store: EncryptedFootageStore, key: str, data_key: bytes = KEY) -> bytes:
    return b"".join(store.read(key, data_key, 0, store.plaintext_size(key)))


def put(store: EncryptedFootageStore, key: str, plaintext: Path,
        data_key: bytes = KEY) -> SealedFootage:
    """Seal and publish at once: what a caller with nothing to decide does."""
    with store.seal(key, plaintext, data_key) as staged:
        staged.publish()
    return staged


def invisible(store: EncryptedFootageStore, key: str) -> bool:
    """No trace of ``key`` through any reading call."""
    try:
        store.plaintext_size(key)
    except FootageNotFound:
        return not store.exists(key) and key not in set(store.keys())
    return False


# --- the contract -----------------------------------------------------------------------


def test_store_then_read_whole_and_ranges(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store, plaintext = backend.footage(), os.urandom(5 * CHUNK + 300)
    size = len(plaintext)
    stored = put(store, "clips/cam-1/a.mp4", clip(plaintext), KEY)
    assert (stored.size, stored.sha256) == (size, hashlib.sha256(plaintext).hexdigest())
    assert store.plaintext_size("clips/cam-1/a.mp4") == size
    assert read_all(store, "clips/cam-1/a.mp4") == plaintext
    ranges = [(0, 1), (size - 1, size), (CHUNK - 1, CHUNK + 1), (CHUNK, 2 * CHUNK), (700, 4000)]
    for start, end in [*ranges, (0, 0), (size, size), (2000, 2000)]:
        got = b"".join(store.read("clips/cam-1/a.mp4", KEY, start, end))
        assert got == plaintext[start:end], (start, end)


def test_an_empty_clip_round_trips(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store = backend.footage()
    assert put(store, "empty", clip(b""), KEY).size == 0
    assert store.plaintext_size("empty") == 0
    assert list(store.read("empty", KEY, 0, 0)) == []


@pytest.mark.parametrize(("start", "end"), [(0, 2049), (2049, 2049), (-1, 10), (10, 9)])
def test_a_range_past_the_end_is_a_clear_error(
    backend: Backend, clip: Callable[[bytes], Path], start: int, end: int
) -> None:
    store = backend.footage()
    put(store, "a", clip(os.urandom(2048)), KEY)
    with pytest.raises(FootageRangeError, match="not within the 2048-byte footage"):
        store.read("a", KEY, start, end)


def test_exists_keys_and_delete(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store, source = backend.footage(), clip(b"frame")
    for key in ("cam-1/2026-11-01/a", "cam-1/2026-11-02/b", "cam-12/c", "other"):
        put(store, key, source, KEY)
    assert store.exists("cam-1/2026-11-01/a") and not store.exists("cam-1/nothing")
    assert sorted(store.keys("cam-1/")) == ["cam-1/2026-11-01/a", "cam-1/2026-11-02/b"]
    assert sorted(store.keys("cam-1")) == ["cam-1/2026-11-01/a", "cam-1/2026-11-02/b", "cam-12/c"]
    assert sorted(store.keys("cam-1/2026-11-0")) == ["cam-1/2026-11-01/a", "cam-1/2026-11-02/b"]
    assert sorted(store.keys()) == sorted([*store.keys("cam-"), "other"])
    assert list(store.keys("nothing/")) == []

    store.delete("cam-12/c")
    store.delete("cam-12/c")  # idempotent
    store.delete("never/stored")
    assert not store.exists("cam-12/c")
    assert "cam-12/c" not in set(store.keys())


def test_a_missing_object_is_not_found(backend: Backend) -> None:
    store = backend.footage()
    with pytest.raises(FootageNotFound):
        store.plaintext_size("gone")
    with pytest.raises(NotFound):  # a domain error, so use cases need no adapter import
        store.read("gone", KEY, 0, 0)


def test_another_data_key_cannot_read_it(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store = backend.footage()
    put(store, "a", clip(os.urandom(3000)), KEY)
    with pytest.raises(FootageCorrupt, match="wrong data key"):
        store.read("a", OTHER_KEY, 2500, 2600)  # raised by read() itself, before iterating


def test_tampering_at_rest_is_detected(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store = backend.footage()
    put(store, "a", clip(os.urandom(3 * CHUNK)), KEY)
    with backend.objects.open_range("a", 0, backend.objects.size("a")) as stream:
        stored = bytearray(stream.read())
    stored[len(stored) // 2] ^= 1
    backend.objects.put("a", lambda out: out.write(stored))
    with pytest.raises(FootageCorrupt):
        read_all(store, "a")
    backend.objects.put("a", lambda out: out.write(stored[: -(CHUNK + 16)]))  # final chunk gone
    with pytest.raises(FootageCorrupt, match="truncated"):
        store.plaintext_size("a")


def test_a_vanished_plaintext_stores_nothing(backend: Backend, tmp_path: Path) -> None:
    store = backend.footage()
    with pytest.raises(FileNotFoundError):
        store.seal("a", tmp_path / "never-uploaded.mp4", KEY)
    assert not store.exists("a")
    assert backend.staging_files() == []


def test_a_plaintext_that_shrinks_midway_stores_nothing(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    source = clip(os.urandom(10 * CHUNK))

    def shrink(written: int) -> None:
        if written > 0:
            os.truncate(source, 3 * CHUNK)

    store = EncryptedFootageStore(HookedWrites(backend.objects, shrink), chunk_size=CHUNK)
    with pytest.raises(SourceChanged, match="ended early"):
        store.seal("a", source, KEY)
    assert not store.exists("a")
    assert backend.staging_files() == []


def test_a_write_error_midway_stores_nothing(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    store = EncryptedFootageStore(
        HookedWrites(backend.objects, disk_full_after(4 * CHUNK)), chunk_size=CHUNK
    )
    with pytest.raises(OSError, match="No space left"):
        store.seal("a", clip(os.urandom(10 * CHUNK)), KEY)
    assert not store.exists("a")
    assert backend.staging_files() == []


def test_a_failed_publish_stores_nothing_and_keeps_the_previous_object(
    backend: Backend, clip: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, first = backend.footage(), os.urandom(2 * CHUNK)
    put(store, "b", clip(first), KEY)
    for key in ("a", "b"):  # a new key, and one that holds an object already
        staged = store.seal(key, clip(os.urandom(3 * CHUNK)), OTHER_KEY)
        backend.fail_commit(monkeypatch)
        with pytest.raises(OSError, match="simulated"):
            staged.publish()
        monkeypatch.undo()
        assert staged.state == "discarded" and backend.staging_files() == []
        with pytest.raises(AlreadySettled):
            staged.publish()  # a failed publish is settled: no second try from a gone file
    assert invisible(store, "a")
    assert read_all(store, "b") == first


def test_a_sealed_object_is_invisible_until_published(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    """Sealing reports the size and hash of every sealed byte while nothing under the key
    changes: a new key stays absent, an existing one keeps its object; ``publish`` then
    swaps in the new object whole."""
    store, old, new = backend.footage(), os.urandom(CHUNK), os.urandom(3 * CHUNK + 7)
    put(store, "clips/cam-1/b.mp4", clip(old), KEY)
    fresh = store.seal("clips/cam-1/a.mp4", clip(new), KEY)
    over = store.seal("clips/cam-1/b.mp4", clip(new), OTHER_KEY)
    for staged in (fresh, over):
        assert (staged.size, staged.sha256) == (len(new), hashlib.sha256(new).hexdigest())
        assert staged.state == "staged"
    assert invisible(store, "clips/cam-1/a.mp4")
    assert sorted(store.keys()) == ["clips/cam-1/b.mp4"]
    assert read_all(store, "clips/cam-1/b.mp4") == old
    assert len(backend.staging_files()) == 2
    fresh.publish()
    over.publish()
    assert read_all(store, "clips/cam-1/a.mp4") == new
    assert read_all(store, "clips/cam-1/b.mp4", OTHER_KEY) == new
    assert (fresh.state, over.state) == ("published", "published")
    assert backend.staging_files() == []


def test_discard_leaves_no_object_and_no_staging(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    store, old = backend.footage(), os.urandom(CHUNK)
    put(store, "b", clip(old), KEY)
    for key in ("a", "b"):
        staged = store.seal(key, clip(os.urandom(5 * CHUNK)), OTHER_KEY)
        assert backend.staging_files() != []
        staged.discard()
        staged.discard()  # repeating it does nothing
        assert staged.state == "discarded" and backend.staging_files() == []
        with pytest.raises(AlreadySettled):
            staged.publish()
    assert invisible(store, "a") and read_all(store, "b") == old
    assert backend.staging_files() == []


def test_a_handle_left_unsettled_by_a_with_block_is_discarded(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    store, source = backend.footage(), clip(os.urandom(2 * CHUNK))
    with store.seal("a", source, KEY) as staged:
        assert backend.staging_files() != []  # the service decided nothing: a refusal
    assert staged.state == "discarded"
    with pytest.raises(ValueError, match="the probe said no"), store.seal("a", source, KEY):
        raise ValueError("the probe said no")
    assert invisible(store, "a") and backend.staging_files() == []
    with store.seal("a", source, KEY) as staged:
        staged.publish()
    with pytest.raises(AlreadySettled):  # published is published: delete it, if anything
        staged.discard()
    assert read_all(store, "a") == source.read_bytes() and backend.staging_files() == []


CRASHING_CHILD = """
import os, signal, sys
from pathlib import Path
from porchlight.footage.adapters.store import EncryptedFootageStore, LocalObjectStore
kind, where, key, source, then = sys.argv[1:]
if kind == "local":
    objects = LocalObjectStore(Path(where))
else:
    from porchlight.footage.adapters.store.s3 import S3ObjectStore
    endpoint, bucket, spool = where.split("|")
    objects = S3ObjectStore.connect(bucket, endpoint_url=endpoint, region="us-east-1",
                                    spool_dir=Path(spool))
staged = EncryptedFootageStore(objects, chunk_size=1024).seal(key, Path(source), bytes(range(32)))
if then == "publish":
    staged.publish()
os.kill(os.getpid(), signal.SIGKILL)
"""


def crash_after(backend: Backend, key: str, source: Path, then: str) -> None:
    """A process that seals (and publishes, if asked) and is then killed outright."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    child = subprocess.run([sys.executable, "-c", CRASHING_CHILD, *backend.child_args, key,
                            str(source), then], env=env, capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()


def test_a_crash_leaves_nothing_or_the_whole_object_and_a_sweep_cleans_up(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    """Killed after sealing: no object, and a staging file no process holds, which a
    sweep removes at once (however fresh) while the staging of a live writer (this
    process) stays and publishes. Killed after publishing: the whole object."""
    store, plaintext = backend.footage(), os.urandom(4 * CHUNK + 1)
    live = store.seal("live", clip(plaintext), KEY)
    crash_after(backend, "sealed", clip(plaintext), then="seal")
    assert invisible(store, "sealed")
    assert len(backend.staging_files()) == 2  # the dead child's, and ours
    assert store.sweep_staging() == 1
    assert store.sweep_staging() == 0
    live.publish()
    assert read_all(store, "live") == plaintext and backend.staging_files() == []

    crash_after(backend, "published", clip(plaintext), then="publish")
    assert read_all(store, "published") == plaintext
    assert backend.staging_files() == []  # the spool file of an uploaded object is gone
    assert store.sweep_staging() == 0


def test_a_sweep_removes_only_staging_files(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    """The S3 spool may be the shared system temp folder: files not named as staging are
    someone else's, however unlocked."""
    staged = backend.footage().seal("a", clip(b"x"), KEY)
    [folder] = {path.parent for path in backend.staging_files()}
    foreign, leftover = folder / "someone-elses.tmp", folder / f"{TEMP_PREFIX}left.part"
    foreign.write_bytes(b"not ours")
    leftover.write_bytes(b"left by a crash a moment ago")
    assert list(backend.objects.keys()) == []  # staging files are never keys
    assert backend.footage().sweep_staging() == 1
    assert foreign.exists() and not leftover.exists()
    staged.discard()


def test_overwriting_is_atomic(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store = backend.footage()
    first, second = os.urandom(4 * CHUNK), os.urandom(7 * CHUNK + 5)
    put(store, "a", clip(first), KEY)
    failing = EncryptedFootageStore(
        HookedWrites(backend.objects, disk_full_after(2 * CHUNK)), chunk_size=CHUNK
    )
    with pytest.raises(OSError):
        put(failing, "a", clip(second), OTHER_KEY)
    assert read_all(store, "a") == first  # the failed overwrite changed nothing
    put(store, "a", clip(second), OTHER_KEY)
    assert read_all(store, "a", OTHER_KEY) == second
    assert backend.staging_files() == []


def test_a_multi_mib_clip_at_the_default_chunk_size(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    store = backend.footage(chunk_size=MiB)  # on S3 this is a 3-part multipart upload
    plaintext = os.urandom(12 * MiB + 123)
    stored = put(store, "big", clip(plaintext), KEY)
    assert stored.size == len(plaintext)
    assert stored.sha256 == hashlib.sha256(plaintext).hexdigest()  # 13 chunks, two buffers
    whole = hashlib.sha256()
    for piece in store.read("big", KEY, 0, len(plaintext)):
        assert len(piece) <= MiB
        whole.update(piece)
    assert whole.digest() == hashlib.sha256(plaintext).digest()
    middle = b"".join(store.read("big", KEY, 5 * MiB - 10, 5 * MiB + 10))
    assert middle == plaintext[5 * MiB - 10 : 5 * MiB + 10]


def test_raw_objects_put_file_and_ranged_get(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    objects, data = backend.objects, os.urandom(3000)
    objects.put_file("raw/a", clip(data))
    assert objects.size("raw/a") == 3000
    with objects.open_range("raw/a", 100, 200) as stream:
        assert stream.read() == data[100:200]
    with objects.open_range("raw/a", 2990, 4000) as stream:  # short at the end, like a file
        assert stream.read() == data[2990:]
    with pytest.raises(FileNotFoundError):
        objects.put_file("raw/b", clip(b"").with_name("missing"))
    assert not objects.exists("raw/b")
    with pytest.raises(FootageNotFound), ExitStack() as stack:
        stack.enter_context(objects.open_range("raw/b", 0, 1))
    assert backend.staging_files() == []


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../escape",
        "a/../../escape",
        "/etc/passwd",
        "a\\b",
        "a//b",
        "a/./b",
        ".hidden",
        "a/",
        "clip.mp4\x00",
        "caméra",
        "a b",
        "x" * 1025,
    ],
)
def test_unsafe_keys_are_refused(
    backend: Backend, clip: Callable[[bytes], Path], tmp_path: Path, key: str
) -> None:
    store = backend.footage()
    with pytest.raises(InvalidObjectKey):
        put(store, key, clip(b"x"), KEY)
    for call in (store.exists, store.delete, store.plaintext_size):
        with pytest.raises(InvalidObjectKey):
            call(key)
    assert not (tmp_path / "escape").exists()


# --- backend specifics ------------------------------------------------------------------


def test_local_files_are_private(tmp_path: Path, clip: Callable[[bytes], Path]) -> None:
    backend = local_backend(tmp_path)
    put(backend.footage(), "cam-1/2026/a", clip(b"x" * 100), KEY)
    staged = backend.footage().seal("cam-1/2026/b", clip(b"y" * 100), KEY)
    root = backend.staging
    assert len(backend.staging_files()) == 1  # a staging file is private too
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    staged.discard()


def test_local_publish_renames_the_sealed_file_into_place(
    tmp_path: Path, clip: Callable[[bytes], Path]
) -> None:
    """Atomic by construction: the sealed, synced file becomes the object by one rename
    (the same inode), never by copying bytes under the final name."""
    backend, plaintext = local_backend(tmp_path), os.urandom(3 * CHUNK)
    staged = backend.footage().seal("cam-1/a", clip(plaintext), KEY)
    [staging_file] = backend.staging_files()
    sealed = staging_file.stat()
    staged.publish()
    published = (backend.staging / "cam-1" / "a").stat()
    assert (published.st_dev, published.st_ino) == (sealed.st_dev, sealed.st_ino)
    assert not staging_file.exists()
    assert read_all(backend.footage(), "cam-1/a") == plaintext


class FailingDigest:
    """A SHA-256 whose helper-thread ``update`` fails on its third call."""

    def __init__(self) -> None:
        self._inner, self._calls = hashlib.sha256(), 0

    def update(self, data: memoryview) -> None:
        self._calls += 1
        if self._calls == 3:
            raise MemoryError("simulated failure in the hashing thread")
        self._inner.update(data)

    def hexdigest(self) -> str:
        return self._inner.hexdigest()


def test_a_failure_in_the_hashing_thread_stores_nothing(
    backend: Backend, clip: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from porchlight.footage.adapters.store import store as footage_store

    monkeypatch.setattr(footage_store, "hashlib", types.SimpleNamespace(sha256=FailingDigest))
    with pytest.raises(MemoryError, match="hashing thread"):
        backend.footage().seal("a", clip(os.urandom(10 * CHUNK)), KEY)
    assert invisible(backend.footage(), "a") and backend.staging_files() == []


def write_behind_backend(tmp_path: Path, every: int) -> Backend:
    backend = local_backend(tmp_path)
    backend.objects.write_behind = every  # type: ignore[attr-defined]
    return backend


def test_local_staging_is_synced_while_it_is_written(
    tmp_path: Path, clip: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Write-behind: the disk starts on the bytes while the rest are sealed, and the
    publish still syncs the file itself before renaming it into place."""
    backend, plaintext = write_behind_backend(tmp_path, 4 * CHUNK), os.urandom(20 * CHUNK)
    early, final = [], []
    datasync, fsync = os.fdatasync, os.fsync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (early.append(fd), datasync(fd))[1])
    monkeypatch.setattr(os, "fsync", lambda fd: (final.append(fd), fsync(fd))[1])
    staged = backend.footage().seal("a", clip(plaintext), KEY)
    assert early and final == []  # one or more, as the disk keeps up
    staged.publish()
    assert final  # the file and its folder
    assert read_all(backend.footage(), "a") == plaintext and backend.staging_files() == []


def test_a_failed_background_sync_fails_the_publish_and_stores_nothing(
    tmp_path: Path, clip: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linux reports a writeback error once per open file: after the background sync has
    seen it, the final fsync may succeed, so the background error itself must fail the
    publish."""
    backend = write_behind_backend(tmp_path, 4 * CHUNK)
    monkeypatch.setattr(os, "fdatasync", raise_io_error)
    staged = backend.footage().seal("a", clip(os.urandom(6 * CHUNK)), KEY)  # one early sync
    with pytest.raises(OSError, match="simulated"):
        staged.publish()
    assert staged.state == "discarded"
    assert invisible(backend.footage(), "a") and backend.staging_files() == []
    with pytest.raises(OSError, match="simulated"):  # longer: the next sync stops the writer
        backend.footage().seal("b", clip(os.urandom(40 * CHUNK)), KEY)
    assert invisible(backend.footage(), "b") and backend.staging_files() == []


def test_a_write_behind_interval_must_be_positive(tmp_path: Path) -> None:
    backend = write_behind_backend(tmp_path, 0)
    with pytest.raises(ValueError, match="positive"):
        backend.objects.stage("a")
    assert backend.staging_files() == []


def test_discarding_waits_for_the_background_sync(
    tmp_path: Path, clip: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The descriptor is closed only once no sync uses it (else the sync could reach
    another file that reused the number)."""
    backend, release, seen = write_behind_backend(tmp_path, 4 * CHUNK), threading.Event(), []
    datasync = os.fdatasync

    def slow(fd: int) -> None:
        release.wait(10)
        seen.append(os.fstat(fd).st_nlink)  # raises if the descriptor was closed meanwhile
        datasync(fd)

    monkeypatch.setattr(os, "fdatasync", slow)
    staged = backend.footage().seal("a", clip(os.urandom(6 * CHUNK)), KEY)
    threading.Timer(0.2, release.set).start()
    staged.discard()
    assert seen == [1]  # the sync ran to its end on the still-open, still-named file
    assert invisible(backend.footage(), "a") and backend.staging_files() == []


def test_s3_writes_large_clips_as_multipart_uploads(
    s3_client: Any, tmp_path: Path, clip: Callable[[bytes], Path]
) -> None:
    backend = s3_backend(tmp_path, s3_client)
    put(backend.footage(chunk_size=MiB), "big", clip(os.urandom(11 * MiB)), KEY)
    head = s3_client.head_object(Bucket=backend.objects.bucket, Key="big")  # type: ignore[attr-defined]
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 1 MiB


def test_s3_publish_shows_nothing_until_the_last_part_and_nothing_if_a_part_fails(
    s3_client: Any, tmp_path: Path, clip: Callable[[bytes], Path]
) -> None:
    """Publishing a large object is a multipart upload: while its parts travel, and after
    one of them fails, no reader sees anything under the key, and the upload is aborted."""
    backend = s3_backend(tmp_path, s3_client)
    store, plaintext = backend.footage(chunk_size=MiB), os.urandom(11 * MiB)
    seen: list[bool] = []
    fail_part = [2]

    def on_part(params: dict[str, Any], **_: Any) -> None:
        seen.append(backend.objects.exists("big"))
        if params["PartNumber"] in fail_part:
            raise OSError(5, "simulated part failure")

    s3_client.meta.events.register("before-parameter-build.s3.UploadPart", on_part)
    try:
        with pytest.raises(OSError, match="simulated part failure"):
            store.seal("big", clip(plaintext), KEY).publish()
        assert seen and not any(seen) and invisible(store, "big")
        assert backend.staging_files() == []
        uploads = s3_client.list_multipart_uploads(Bucket=backend.objects.bucket)  # type: ignore[attr-defined]
        assert uploads.get("Uploads", []) == []  # aborted, not left to a lifecycle rule
        seen.clear()
        fail_part.clear()
        put(store, "big", clip(plaintext), KEY)
    finally:
        s3_client.meta.events.unregister("before-parameter-build.s3.UploadPart", on_part)
    assert len(seen) == 3 and not any(seen)
    assert read_all(store, "big") == plaintext


def test_s3_store_connects_from_settings_values(
    s3_client: Any, tmp_path: Path, clip: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = new_bucket(s3_client)
    objects = S3ObjectStore.connect(
        bucket, endpoint_url=s3_client.meta.endpoint_url, region="us-east-1", spool_dir=tmp_path
    )
    store = EncryptedFootageStore(objects)
    put(store, "a", clip(b"hello"), KEY)
    assert b"".join(store.read("a", KEY, 1, 4)) == b"ell"
