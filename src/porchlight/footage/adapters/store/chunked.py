"""Streaming chunked AES-256-GCM: the at-rest format of footage objects.

Why chunks: one GCM message over a 500 MB clip would have to be read and authenticated
whole before a single byte could be trusted, so playback could not seek and memory would
grow with the clip. Instead the plaintext is cut into fixed-size chunks, each sealed on
its own; a plaintext offset maps to a chunk, and a chunk to a ciphertext offset, by
arithmetic, so a range read fetches and decrypts only the chunks it touches.

Layout (integers big-endian)::

    header, 25 bytes
      magic           4   b"PLFC"
      version         1   0x01
      chunk_size      4   plaintext bytes per chunk (16 B .. 16 MiB; default 1 MiB)
      plaintext_size  8   total plaintext bytes
      nonce_prefix    8   random, fresh for every object
    chunk i, for i in 0 .. n-1
      ciphertext      chunk_size bytes; the last chunk 1 .. chunk_size bytes (0 only for
                      an empty plaintext, which is stored as one empty chunk)
      GCM tag         16

    n        = max(1, ceil(plaintext_size / chunk_size))
    nonce(i) = nonce_prefix ‖ u32(i)                              (12 bytes)
    aad(i)   = header ‖ u32(i) ‖ u8(1 if i == n - 1 else 0)

What each piece defends against:

- The whole header is associated data of every chunk: a changed magic, version, size,
  chunk size or nonce prefix fails on the first chunk decrypted.
- The chunk index is in the nonce and the associated data: reordered, dropped or
  duplicated chunks fail.
- The nonce prefix is random per object: a chunk spliced in from another object sealed
  with the same data key fails, and re-encrypting under a reused key does not repeat
  nonces (64 random bits per object, at most 2^32 chunks per object).
- plaintext_size is authenticated and fixes the object's length, and readers compare it
  with the stored length before returning anything: truncation (at a chunk boundary or
  not) and appended bytes are refused even by a read that touches only the first chunk.
- The final flag marks the last chunk (the STREAM construction's end marker): a second,
  independent guard against truncation that would still hold if the size check were lost.

The data key is 32 random bytes that the caller generates and wraps with a KeyVault;
destroying the wrapped key makes the object unreadable. chunk_size is capped so that a
forged header cannot make a reader buffer a huge chunk before its tag is checked.
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from porchlight.footage.adapters.store.errors import (
    FootageCorrupt,
    FootageRangeError,
    SourceChanged,
)

MAGIC = b"PLFC"
VERSION = 1
KEY_SIZE = 32
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 8
DEFAULT_CHUNK_SIZE = 1 << 20
MIN_CHUNK_SIZE = 16
MAX_CHUNK_SIZE = 16 << 20
MAX_CHUNKS = 1 << 32
HASH_BUFFERS = 4  # chunks read ahead of the hashing thread: it may fall behind for a moment

_HEADER = struct.Struct(">4sBIQ8s")
_INDEX = struct.Struct(">I")
_AAD_TAIL = struct.Struct(">IB")
HEADER_SIZE = _HEADER.size


class Readable(Protocol):
    """Anything with ``read(n)``: a file, an S3 streaming body."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Header:
    """The parameters of one object; all offset arithmetic lives here."""

    chunk_size: int
    plaintext_size: int
    nonce_prefix: bytes

    def __post_init__(self) -> None:
        if not MIN_CHUNK_SIZE <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(
                f"chunk size {self.chunk_size} outside {MIN_CHUNK_SIZE}..{MAX_CHUNK_SIZE}"
            )
        if not 0 <= self.plaintext_size <= self.chunk_size * MAX_CHUNKS:
            raise ValueError(f"plaintext size {self.plaintext_size} is out of range")
        if len(self.nonce_prefix) != NONCE_PREFIX_SIZE:
            raise ValueError("the nonce prefix must be 8 bytes")

    @cached_property
    def raw(self) -> bytes:
        """The serialised header, also the first part of every chunk's associated data."""
        return _HEADER.pack(MAGIC, VERSION, self.chunk_size, self.plaintext_size, self.nonce_prefix)

    @property
    def chunk_count(self) -> int:
        return max(1, -(-self.plaintext_size // self.chunk_size))

    @property
    def ciphertext_size(self) -> int:
        return HEADER_SIZE + self.plaintext_size + self.chunk_count * TAG_SIZE

    def chunk_length(self, index: int) -> int:
        """Plaintext bytes in chunk ``index`` (the last one may be short)."""
        if index < self.chunk_count - 1:
            return self.chunk_size
        return self.plaintext_size - (self.chunk_count - 1) * self.chunk_size

    def chunk_offset(self, index: int) -> int:
        """Where chunk ``index`` starts in the ciphertext."""
        return HEADER_SIZE + index * (self.chunk_size + TAG_SIZE)

    def nonce(self, index: int) -> bytes:
        return self.nonce_prefix + _INDEX.pack(index)

    def aad(self, index: int) -> bytes:
        return self.raw + _AAD_TAIL.pack(index, index == self.chunk_count - 1)

    def chunks_for(self, start: int, end: int) -> range:
        """The chunk indices holding plaintext bytes [start, end); empty for an empty range."""
        if start >= end:
            return range(0)
        return range(start // self.chunk_size, (end - 1) // self.chunk_size + 1)

    def span(self, chunks: range) -> tuple[int, int]:
        """The ciphertext byte range [start, end) holding ``chunks`` (a non-empty range)."""
        last = chunks[-1]
        end = self.chunk_offset(last) + self.chunk_length(last) + TAG_SIZE
        return self.chunk_offset(chunks[0]), end

    def check_range(self, start: int, end: int) -> None:
        if not 0 <= start <= end <= self.plaintext_size:
            raise FootageRangeError(
                f"range [{start}, {end}) is not within the {self.plaintext_size}-byte footage"
            )

    def check_stored_length(self, length: int) -> None:
        """Refuse an object whose length differs from the one its header implies."""
        if length != self.ciphertext_size:
            raise FootageCorrupt(
                f"footage object is {length} bytes but its header implies "
                f"{self.ciphertext_size}: truncated or extended"
            )


def new_header(plaintext_size: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Header:
    """A header with a fresh random nonce prefix."""
    return Header(chunk_size, plaintext_size, secrets.token_bytes(NONCE_PREFIX_SIZE))


def parse_header(raw: bytes) -> Header:
    """Parse (but cannot yet authenticate) a header; decrypting any chunk authenticates it."""
    if len(raw) < HEADER_SIZE:
        raise FootageCorrupt("footage object is too short to hold a header")
    magic, version, chunk_size, size, prefix = _HEADER.unpack(raw[:HEADER_SIZE])
    if magic != MAGIC:
        raise FootageCorrupt("not a footage object (bad magic)")
    if version != VERSION:
        raise FootageCorrupt(f"unknown footage format version {version}")
    try:
        return Header(chunk_size, size, prefix)
    except ValueError as exc:
        raise FootageCorrupt(f"malformed footage header: {exc}") from None


def encrypt(
    src: BinaryIO,
    dst: BinaryIO,
    data_key: bytes,
    *,
    size: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    digest: Digest | None = None,
) -> Header:
    """Encrypt ``src`` (from its current position) into ``dst``, one chunk in memory at a time.

    ``size`` defaults to the bytes left in the seekable ``src``. The source must yield
    exactly that many bytes, or ``SourceChanged`` is raised: the size is sealed into the
    header before the bytes are read, so a file that shrinks or grows meanwhile must not
    produce an object. ``dst.write`` must consume what it is given before returning, as
    files do: the buffers are reused for every chunk (no per-chunk allocation).

    ``digest`` (a hashlib object), when given, is fed every plaintext byte in order, so
    the caller learns the hash of exactly what was sealed without reading the file
    twice. The hashing runs in a helper thread (hashlib releases the GIL) while the next
    chunk is read, sealed and written here, on two alternating buffers.
    """
    aead = _aead(data_key)
    header = new_header(_remaining(src) if size is None else size, chunk_size)
    plains, sealed = _buffers(header, digest is not None)
    with _Hashing(digest, len(plains)) as hashing:
        dst.write(header.raw)
        for index in range(header.chunk_count):
            slot = index % len(plains)
            hashing.wait(slot)  # the last update that read this buffer is done
            length = header.chunk_length(index)
            plain = plains[slot][:length]
            if readinto_exact(src, plain) != length:
                raise SourceChanged(f"the plaintext ended early, in chunk {index}")
            hashing.update(slot, plain)
            out = sealed[: length + TAG_SIZE]
            aead.encrypt_into(header.nonce(index), plain, header.aad(index), out)
            dst.write(out)
        if src.read(1):
            raise SourceChanged(
                f"the plaintext grew past the {header.plaintext_size} bytes expected")
    return header


def _buffers(header: Header, hashing: bool) -> tuple[list[memoryview], memoryview]:
    """The plaintext buffers (several while a hashing thread may lag behind, never more
    than there are chunks) and the sealed one, each no longer than the longest chunk:
    a 20 KB poster or a 0.8 MB clip does not zero five 1 MiB buffers."""
    longest = header.chunk_length(0)
    count = min(HASH_BUFFERS, header.chunk_count) if hashing else 1
    plains = [memoryview(bytearray(longest)) for _ in range(count)]
    return plains, memoryview(bytearray(longest + TAG_SIZE))


class Digest(Protocol):
    def update(self, data: memoryview, /) -> None: ...


class _Hashing:
    """``digest.update`` in one helper thread, in submission order; a no-op without a digest.

    Leaving the block waits for every update, also when the block failed, so the helper
    never reads a buffer after ``encrypt`` has returned.
    """

    def __init__(self, digest: Digest | None, slots: int) -> None:
        self._update = digest.update if digest is not None else None
        self._pool = ThreadPoolExecutor(max_workers=1) if digest is not None else None
        self._pending: list[Future[None] | None] = [None] * slots

    def __enter__(self) -> _Hashing:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            for slot in range(len(self._pending)):
                self.wait(slot)

    def wait(self, slot: int) -> None:
        pending, self._pending[slot] = self._pending[slot], None
        if pending is not None:
            pending.result()

    def update(self, slot: int, data: memoryview) -> None:
        if self._pool is not None and self._update is not None:
            self._pending[slot] = self._pool.submit(self._update, data)


def decrypt_chunks(
    header: Header, data_key: bytes, ciphertext: Readable, chunks: range
) -> Iterator[bytes]:
    """Decrypt consecutive whole chunks from ``ciphertext``, positioned at the first one."""
    aead = _aead(data_key)
    for index in chunks:
        length = header.chunk_length(index) + TAG_SIZE
        sealed = read_exact(ciphertext, length)
        if len(sealed) != length:
            raise FootageCorrupt(f"footage object ends inside chunk {index}: truncated")
        try:
            plain = aead.decrypt(header.nonce(index), sealed, header.aad(index))
        except InvalidTag:
            raise FootageCorrupt(
                f"chunk {index} failed authentication: wrong data key, or the bytes were altered"
            ) from None
        yield plain


def decrypt_range(
    header: Header, data_key: bytes, ciphertext: Readable, start: int, end: int
) -> Iterator[bytes]:
    """Plaintext [start, end) from ``ciphertext`` positioned at ``span(chunks_for(...))[0]``.

    The range is checked now, not on the first ``next()``, so callers learn of a bad
    range before they start answering.
    """
    header.check_range(start, end)
    check_data_key(data_key)
    return _trimmed(header, data_key, ciphertext, start, end)


def read_range(ciphertext: BinaryIO, data_key: bytes, start: int, end: int) -> Iterator[bytes]:
    """Plaintext [start, end) of a whole encrypted object held in a seekable file."""
    ciphertext.seek(0)
    header = parse_header(ciphertext.read(HEADER_SIZE))
    header.check_stored_length(ciphertext.seek(0, os.SEEK_END))
    header.check_range(start, end)
    chunks = header.chunks_for(start, end)
    if chunks:
        ciphertext.seek(header.span(chunks)[0])
    return decrypt_range(header, data_key, ciphertext, start, end)


def check_data_key(data_key: bytes) -> None:
    """A data key must be 32 bytes: AES-256, never a silently weaker AES-128 or -192."""
    if len(data_key) != KEY_SIZE:
        raise ValueError(f"a footage data key is {KEY_SIZE} bytes, not {len(data_key)}")


def read_exact(stream: Readable, size: int) -> bytes:
    """Read ``size`` bytes, looping over short reads; fewer only at end of stream."""
    data = stream.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    missing = size - len(data)
    while missing:
        more = stream.read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


def readinto_exact(stream: BinaryIO, buffer: memoryview) -> int:
    """Fill ``buffer``, looping over short reads; returns fewer bytes only at end of stream."""
    filled = 0
    while filled < len(buffer):
        count = stream.readinto(buffer[filled:])
        if not count:
            break
        filled += count
    return filled


def _trimmed(
    header: Header, data_key: bytes, ciphertext: Readable, start: int, end: int
) -> Iterator[bytes]:
    chunks = header.chunks_for(start, end)
    plains = decrypt_chunks(header, data_key, ciphertext, chunks)
    for index, plain in zip(chunks, plains, strict=True):
        base = index * header.chunk_size
        yield plain[max(start - base, 0) : min(end - base, len(plain))]


def _aead(data_key: bytes) -> AESGCM:
    check_data_key(data_key)
    return AESGCM(data_key)


def _remaining(src: BinaryIO) -> int:
    position = src.tell()
    end = src.seek(0, os.SEEK_END)
    src.seek(position)
    return end - position
