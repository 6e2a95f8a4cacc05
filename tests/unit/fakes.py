"""In-memory fakes of the ports, so use cases can be tested with no I/O.

The unit of work and its repositories are in ``fake_uow`` and ``fake_repositories``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from porchlight.kernel.services.ports import Examined, OutgoingMail, Stored, Trim
from tests.unit.fake_uow import FakeIntegrityError, FakeUnitOfWork

__all__ = ["FakeFootageStore", "FakeIntegrityError", "FakeMailer", "FakeUnitOfWork",
           "FakeVideoTools", "XorVault"]


class FakeFootageStore:
    """Keeps 'encrypted' objects in memory, XOR-ed with the key so a wrong key reads garbage."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, bytes]] = {}
        self.fail_deletes = 0

    def store(self, key: str, plaintext: Path, data_key: bytes, *,
              ready: Callable[[Stored], None] | None = None) -> Stored:
        data = plaintext.read_bytes()
        stored = Stored(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        if ready is not None:
            ready(stored)  # raising here publishes nothing, as the real stores do
        self.objects[key] = (data_key, data)
        return stored

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
