"""In-memory fakes of the ports, so use cases can be tested with no I/O.

The unit of work and its repositories are in ``fake_uow`` and ``fake_repositories``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from porchlight.kernel.services.ports import Examined, OutgoingMail, Trim
from tests.unit.fake_uow import FakeIntegrityError, FakeUnitOfWork

__all__ = ["FakeFootageStore", "FakeIntegrityError", "FakeMailer", "FakeUnitOfWork",
           "FakeVideoTools", "XorVault"]


class FakeStagedFootage:
    """A sealed object held by the fake store until it is published or discarded."""

    def __init__(self, store: FakeFootageStore, key: str, data_key: bytes, data: bytes) -> None:
        self._store, self.key, self._entry = store, key, (data_key, data)
        self.size, self.sha256 = len(data), hashlib.sha256(data).hexdigest()
        self.state = "staged"
        store.staged.append(self)

    def publish(self) -> None:
        if self.state != "staged":
            raise RuntimeError(f"already {self.state}")
        self._store.staged.remove(self)
        if self.key.endswith(tuple(self._store.fail_publishes)):
            self.state = "discarded"
            raise OSError("simulated storage outage while publishing")
        self.state = "published"
        self._store.objects[self.key] = self._entry

    def discard(self) -> None:
        if self.state == "published":
            raise RuntimeError("already published")
        if self.state == "staged":
            self._store.staged.remove(self)
        self.state = "discarded"

    def __enter__(self) -> FakeStagedFootage:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.state == "staged":
            self.discard()


class FakeFootageStore:
    """Keeps 'encrypted' objects in memory, XOR-ed with the key so a wrong key reads garbage.

    ``staged`` lists the sealed objects not yet settled: a use case that returns or fails
    must leave it empty, as the real stores leave no staging file."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, bytes]] = {}
        self.staged: list[FakeStagedFootage] = []
        self.fail_deletes = 0
        self.fail_publishes: set[str] = set()  # key endings whose publish fails

    def seal(self, key: str, plaintext: Path, data_key: bytes) -> FakeStagedFootage:
        return FakeStagedFootage(self, key, data_key, plaintext.read_bytes())

    def read(self, key: str, data_key: bytes, start: int, end: int) -> Iterator[bytes]:
        stored_key, data = self.objects[key]
        if stored_key != data_key:
            raise ValueError("authentication failed")
        yield data[start:end]

    def plaintext_size(self, key: str) -> int:
        return len(self.objects[key][1])

    def delete(self, key: str) -> None:
        if self.fail_deletes:
            self.fail_deletes -= 1
            raise OSError("simulated storage outage")
        self.objects.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.objects

    def keys(self, prefix: str = "") -> Iterator[str]:
        return iter(sorted(k for k in self.objects if k.startswith(prefix)))

    def sweep_staging(self) -> int:
        return 0


class FakeVideoTools:
    def __init__(self, info) -> None:
        self.info = info
        self.probed: list[Path] = []
        self.trims: list[tuple[float, float]] = []

    def probe(self, path: Path):
        self.probed.append(path)
        return self.info

    def poster(self, path: Path, *, max_width: int = 480) -> bytes:
        return b"\xff\xd8poster"

    def examine(self, path: Path, *, poster_width: int = 480) -> Examined:
        return Examined(info=self.probe(path), poster=self.poster(path, max_width=poster_width))

    def trim(self, source: Path, target: Path, start_seconds: float, end_seconds: float) -> Trim:
        """Copies the bytes (a stream copy of the whole file) and reports the offsets asked."""
        self.trims.append((start_seconds, end_seconds))
        target.write_bytes(source.read_bytes())
        return Trim(start_seconds, end_seconds, stream_copy=True, info=self.info)


class XorVault:
    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in plaintext) + context

    def open(self, sealed: bytes, *, context: bytes) -> bytes:
        assert sealed.endswith(context)
        return bytes(b ^ 0x5A for b in sealed[: -len(context)])


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []

    def send(self, mail: OutgoingMail) -> None:
        self.sent.append(mail)
