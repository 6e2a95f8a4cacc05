"""The ``FootageStore`` port: chunked AES-256-GCM (``chunked``) over a raw ``ObjectStore``.

``seal`` streams the encryptor straight into the object store's staging file, so the
plaintext is read once (hashed in the same read), never held whole in memory, and never
copied to a second plaintext file. It returns a ``SealedFootage``: the plaintext's size
and SHA-256, and nothing visible yet. The caller decides, then ``publish`` makes the
object appear under its key all at once, or ``discard`` removes the staging file.

Reading costs three small requests before the data: the object's size, its header, then
one ranged fetch covering exactly the chunks the plaintext range touches. The first chunk
is decrypted before ``read`` returns, so a wrong data key, an altered header or a
truncated object raises from ``read`` itself, before an HTTP response has been started.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from pathlib import Path

from porchlight.footage.adapters.store.chunked import (
    DEFAULT_CHUNK_SIZE,
    HEADER_SIZE,
    Header,
    check_data_key,
    decrypt_range,
    encrypt,
    parse_header,
    read_exact,
)
from porchlight.footage.adapters.store.objects import ObjectStore, StagingFile, check_key


class EncryptedFootageStore:
    """Encrypted footage on any ``ObjectStore``; the caller owns (and wraps) the data keys."""

    def __init__(self, objects: ObjectStore, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.objects = objects
        self._chunk_size = chunk_size

    def seal(self, key: str, plaintext: Path, data_key: bytes) -> SealedFootage:
        """Encrypt the file into staging for ``key``; nothing is visible under the key yet.

        The returned handle carries the plaintext's size and SHA-256, computed from the
        bytes as they were sealed (in the same read). Raises ``SourceChanged`` if the file
        changes size while being read, and lets the object store's own errors through;
        on any failure the staging file is gone.
        """
        check_key(key)
        check_data_key(data_key)
        digest = hashlib.sha256()
        with plaintext.open("rb") as source:
            staged = self.objects.stage(key)
            try:
                header = encrypt(source, staged, data_key,  # type: ignore[arg-type]
                                 chunk_size=self._chunk_size, digest=digest)
            except BaseException:
                staged.discard()
                raise
        return SealedFootage(staged, header.plaintext_size, digest.hexdigest())

    def read(self, key: str, data_key: bytes, start: int, end: int) -> Iterator[bytes]:
        """Plaintext [start, end), one decrypted chunk (or part of one) per item.

        Raises ``FootageNotFound``, ``FootageRangeError`` (unless 0 <= start <= end <=
        size) or ``FootageCorrupt`` eagerly; later chunks can still raise
        ``FootageCorrupt`` while iterating if their bytes were altered.
        """
        check_data_key(data_key)
        header = self._header(key)
        header.check_range(start, end)
        if start == end:
            return iter(())
        chunks = self._decrypt(key, header, data_key, start, end)
        first = next(chunks)
        return itertools.chain([first], chunks)

    def plaintext_size(self, key: str) -> int:
        """The size the header declares, checked against the stored length.

        No data key is given, so this is a structural check only; ``read`` authenticates.
        """
        return self._header(key).plaintext_size

    def delete(self, key: str) -> None:
        self.objects.delete(key)

    def exists(self, key: str) -> bool:
        return self.objects.exists(key)

    def keys(self, prefix: str = "") -> Iterator[str]:
        return self.objects.keys(prefix)

    def sweep_staging(self) -> int:
        """Remove staging files no live process holds: what a crash left behind."""
        return self.objects.sweep_staging()

    def _header(self, key: str) -> Header:
        size = self.objects.size(key)
        with self.objects.open_range(key, 0, HEADER_SIZE) as stream:
            header = parse_header(read_exact(stream, HEADER_SIZE))
        header.check_stored_length(size)
        return header

    def _decrypt(
        self, key: str, header: Header, data_key: bytes, start: int, end: int
    ) -> Iterator[bytes]:
        """Stream the chunks; the ranged fetch stays open until the iterator is done."""
        first, last = header.span(header.chunks_for(start, end))
        with self.objects.open_range(key, first, last) as ciphertext:
            yield from decrypt_range(header, data_key, ciphertext, start, end)


class SealedFootage:
    """Footage encrypted into staging (the ``StagedFootage`` port): its key, and the size and
    SHA-256 of the plaintext that was sealed. Settled once, by ``publish`` or ``discard``;
    a ``with`` block left with it unsettled discards it."""

    def __init__(self, staged: StagingFile, size: int, sha256: str) -> None:
        self._staged = staged
        self.size = size
        self.sha256 = sha256

    @property
    def key(self) -> str:
        return self._staged.key

    @property
    def state(self) -> str:
        """``staged``, ``published`` or ``discarded``."""
        return self._staged.state

    def publish(self) -> None:
        """Make the object visible under its key, all at once; raises if that fails, and
        then the staging is gone (see ``StagingFile.publish``)."""
        self._staged.publish()

    def discard(self) -> None:
        """Remove the staging; nothing becomes visible. Repeating it does nothing."""
        self._staged.discard()

    def __enter__(self) -> SealedFootage:
        return self

    def __exit__(self, *exc: object) -> None:
        self._staged.__exit__(*exc)
