"""One contract for encrypted footage, run on the local folder and on a real S3 server.

The S3 run talks HTTP to moto's standalone server on 127.0.0.1 (started here, on a free
port) with a bucket this module creates, so boto3's real request path (ranged GETs,
multipart uploads, paginated listings) is what is exercised. Failures are injected by
wrapping the object store, never by sleeping.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from moto.server import ThreadedMotoServer

from porchlight.footage.adapters.store import (
    EncryptedFootageStore,
    FootageCorrupt,
    FootageNotFound,
    FootageRangeError,
    InvalidObjectKey,
    LocalObjectStore,
    ObjectStore,
    SourceChanged,
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
    staging: Path  # where this backend's staging files live
    fail_commit: Callable[[pytest.MonkeyPatch], None]  # make the final commit step fail

    def footage(self, chunk_size: int = CHUNK) -> EncryptedFootageStore:
        return EncryptedFootageStore(self.objects, chunk_size=chunk_size)

    def staging_files(self) -> list[Path]:
        return sorted(self.staging.rglob(f"{TEMP_PREFIX}*"))


class _Hooked:
    """A staging file whose ``write`` first calls a hook (which may raise)."""

    def __init__(self, out: BinaryIO, hook: Callable[[int], None]) -> None:
        self._out, self._hook, self._written = out, hook, 0

    def write(self, data: bytes) -> int:
        self._hook(self._written)
        self._written += len(data)
        return self._out.write(data)


class HookedWrites:
    """An ObjectStore whose ``put`` hands ``fill`` a hooked staging file."""

    def __init__(self, inner: ObjectStore, hook: Callable[[int], None]) -> None:
        self._inner, self._hook = inner, hook

    def put(self, key: str, fill: Callable[[BinaryIO], None]) -> None:
        self._inner.put(key, lambda out: fill(_Hooked(out, self._hook)))  # type: ignore[arg-type]

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

    return Backend("local", objects, objects.root, fail_commit)


def s3_backend(tmp_path: Path, client: Any) -> Backend:
    spool = tmp_path / "spool"
    small_parts = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    objects = S3ObjectStore(
        new_bucket(client), client, transfer_config=small_parts, spool_dir=spool
    )

    def fail_commit(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(client, "upload_file", raise_io_error)

    return Backend("s3", objects, spool, fail_commit)


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


# --- the contract -----------------------------------------------------------------------


def test_store_then_read_whole_and_ranges(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store, plaintext = backend.footage(), os.urandom(5 * CHUNK + 300)
    size = len(plaintext)
    stored = store.store("clips/cam-1/a.mp4", clip(plaintext), KEY)
    assert (stored.size, stored.sha256) == (size, hashlib.sha256(plaintext).hexdigest())
    assert store.plaintext_size("clips/cam-1/a.mp4") == size
    assert read_all(store, "clips/cam-1/a.mp4") == plaintext
    ranges = [(0, 1), (size - 1, size), (CHUNK - 1, CHUNK + 1), (CHUNK, 2 * CHUNK), (700, 4000)]
    for start, end in [*ranges, (0, 0), (size, size), (2000, 2000)]:
        got = b"".join(store.read("clips/cam-1/a.mp4", KEY, start, end))
        assert got == plaintext[start:end], (start, end)


def test_an_empty_clip_round_trips(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store = backend.footage()
    assert store.store("empty", clip(b""), KEY).size == 0
    assert store.plaintext_size("empty") == 0
    assert list(store.read("empty", KEY, 0, 0)) == []


@pytest.mark.parametrize(("start", "end"), [(0, 2049), (2049, 2049), (-1, 10), (10, 9)])
def test_a_range_past_the_end_is_a_clear_error(
    backend: Backend, clip: Callable[[bytes], Path], start: int, end: int
) -> None:
    store = backend.footage()
    store.store("a", clip(os.urandom(2048)), KEY)
    with pytest.raises(FootageRangeError, match="not within the 2048-byte footage"):
        store.read("a", KEY, start, end)


def test_exists_keys_and_delete(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store, source = backend.footage(), clip(b"frame")
    for key in ("cam-1/2026-11-01/a", "cam-1/2026-11-02/b", "cam-12/c", "other"):
        store.store(key, source, KEY)
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
    store.store("a", clip(os.urandom(3000)), KEY)
    with pytest.raises(FootageCorrupt, match="wrong data key"):
        store.read("a", OTHER_KEY, 2500, 2600)  # raised by read() itself, before iterating


def test_tampering_at_rest_is_detected(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store = backend.footage()
    store.store("a", clip(os.urandom(3 * CHUNK)), KEY)
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
        store.store("a", tmp_path / "never-uploaded.mp4", KEY)
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
        store.store("a", source, KEY)
    assert not store.exists("a")
    assert backend.staging_files() == []


def test_a_write_error_midway_stores_nothing(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    store = EncryptedFootageStore(
        HookedWrites(backend.objects, disk_full_after(4 * CHUNK)), chunk_size=CHUNK
    )
    with pytest.raises(OSError, match="No space left"):
        store.store("a", clip(os.urandom(10 * CHUNK)), KEY)
    assert not store.exists("a")
    assert backend.staging_files() == []


def test_a_failed_commit_stores_nothing(
    backend: Backend, clip: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, source = backend.footage(), clip(os.urandom(3 * CHUNK))
    backend.fail_commit(monkeypatch)
    with pytest.raises(OSError, match="simulated"):
        store.store("a", source, KEY)
    monkeypatch.undo()
    assert not store.exists("a")
    assert backend.staging_files() == []


def test_a_refusal_before_publishing_stores_nothing(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    """``ready`` sees the size and hash of every sealed byte before the object exists; if
    it refuses (a failed probe, a wrong hash), nothing is published, and if it agrees
    the object appears as usual."""
    store, plaintext = backend.footage(), os.urandom(3 * CHUNK + 7)
    seen: list[object] = []

    def refuse(stored: object) -> None:
        seen.append(stored)
        assert not store.exists("clips/cam-1/a.mp4")  # not yet published
        raise ValueError("the probe said no")

    with pytest.raises(ValueError, match="the probe said no"):
        store.store("clips/cam-1/a.mp4", clip(plaintext), KEY, ready=refuse)
    [stored] = seen
    assert (stored.size, stored.sha256) == (len(plaintext), hashlib.sha256(plaintext).hexdigest())
    assert not store.exists("clips/cam-1/a.mp4")
    assert list(store.keys()) == [] and backend.staging_files() == []
    store.store("clips/cam-1/a.mp4", clip(plaintext), KEY, ready=seen.append)
    assert read_all(store, "clips/cam-1/a.mp4") == plaintext


def test_overwriting_is_atomic(backend: Backend, clip: Callable[[bytes], Path]) -> None:
    store = backend.footage()
    first, second = os.urandom(4 * CHUNK), os.urandom(7 * CHUNK + 5)
    store.store("a", clip(first), KEY)
    failing = EncryptedFootageStore(
        HookedWrites(backend.objects, disk_full_after(2 * CHUNK)), chunk_size=CHUNK
    )
    with pytest.raises(OSError):
        failing.store("a", clip(second), OTHER_KEY)
    assert read_all(store, "a") == first  # the failed overwrite changed nothing
    store.store("a", clip(second), OTHER_KEY)
    assert read_all(store, "a", OTHER_KEY) == second
    assert backend.staging_files() == []


def test_a_multi_mib_clip_at_the_default_chunk_size(
    backend: Backend, clip: Callable[[bytes], Path]
) -> None:
    store = backend.footage(chunk_size=MiB)  # on S3 this is a 3-part multipart upload
    plaintext = os.urandom(12 * MiB + 123)
    stored = store.store("big", clip(plaintext), KEY)
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
        store.store(key, clip(b"x"), KEY)
    for call in (store.exists, store.delete, store.plaintext_size):
        with pytest.raises(InvalidObjectKey):
            call(key)
    assert not (tmp_path / "escape").exists()


def test_sweep_removes_stale_staging_files_and_keeps_fresh_ones(backend: Backend) -> None:
    folder = backend.staging / "cam-1" if backend.name == "local" else backend.staging
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / f"{TEMP_PREFIX}stale", folder / f"{TEMP_PREFIX}fresh"
    stale.write_bytes(b"left by a crash")
    fresh.write_bytes(b"a write in progress")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    assert list(backend.objects.keys()) == []  # staging files are never keys
    assert backend.footage().sweep_temp(older_than_seconds=600) == 1
    assert backend.staging_files() == [fresh]


# --- backend specifics ------------------------------------------------------------------


def test_local_files_are_private(tmp_path: Path, clip: Callable[[bytes], Path]) -> None:
    backend = local_backend(tmp_path)
    backend.footage().store("cam-1/2026/a", clip(b"x" * 100), KEY)
    root = backend.staging
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_s3_writes_large_clips_as_multipart_uploads(
    s3_client: Any, tmp_path: Path, clip: Callable[[bytes], Path]
) -> None:
    backend = s3_backend(tmp_path, s3_client)
    backend.footage(chunk_size=MiB).store("big", clip(os.urandom(11 * MiB)), KEY)
    head = s3_client.head_object(Bucket=backend.objects.bucket, Key="big")  # type: ignore[attr-defined]
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 1 MiB


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
    store.store("a", clip(b"hello"), KEY)
    assert b"".join(store.read("a", KEY, 1, 4)) == b"ell"
