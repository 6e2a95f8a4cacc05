"""The ``FootageStore`` port: chunked AES-256-GCM (``chunked``) over a raw ``ObjectStore``.

Storing streams the encryptor straight into the object store's staging file, so the
plaintext is read once, never held whole in memory, and never copied to a second
plaintext file; the object appears only when every chunk has been written and synced.

Reading costs three small requests before the data: the object's size, its header, then
one ranged fetch covering exactly the chunks the plaintext range touches. The first chunk
is decrypted before ``read`` returns, so a wrong data key, an altered header or a
truncated object raises from ``read`` itself, before an HTTP response has been started.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

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
from porchlight.footage.adapters.store.objects import ObjectStore, check_key
from porchlight.kernel.services.ports import Stored


class EncryptedFootageStore:
    """Encrypted footage on any ``ObjectStore``; the caller owns (and wraps) the data keys."""

    def __init__(self, objects: ObjectStore, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.objects = objects
        self._chunk_size = chunk_size

    def store(self, key: str, plaintext: Path, data_key: bytes, *,
              ready: Callable[[Stored], None] | None = None) -> Stored:
        """Encrypt the file under ``key``; all or nothing. Returns the plaintext's size and
        SHA-256, computed from the bytes as they were sealed (in the same read).

        ``ready``, if given, sees that size and hash once every byte is sealed and before
        the object is published (renamed into place, or uploaded); if it raises, nothing
        is published and the exception propagates. Raises ``SourceChanged`` if the file
        changes size while being read, and lets the object store's own errors through;
        in every failure no object is left behind.
        """
        check_key(key)
        check_data_key(data_key)
        stored: list[Stored] = []
        digest = hashlib.sha256()
        with plaintext.open("rb") as source:

            def fill(out: BinaryIO) -> None:
                header = encrypt(source, out, data_key, chunk_size=self._chunk_size,
                                 digest=digest)
                stored.append(Stored(size=header.plaintext_size, sha256=digest.hexdigest()))
                if ready is not None:
                    ready(stored[0])

            self.objects.put(key, fill)
        return stored[0]

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

    def sweep_temp(self, older_than_seconds: float) -> int:
        """Remove staging files a crashed ``store`` left behind (not part of the port)."""
        return self.objects.sweep_temp(older_than_seconds)

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
