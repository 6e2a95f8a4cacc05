"""The chunked AES-256-GCM footage format: round trips, random access, tampering, memory.

A 64-byte chunk keeps objects tiny, so every byte of a small object can be flipped and
every range of it read; the memory test uses the real 1 MiB default on a 64 MiB file.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tracemalloc
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from porchlight.footage.adapters.store.chunked import (
    DEFAULT_CHUNK_SIZE,
    HEADER_SIZE,
    TAG_SIZE,
    Header,
    decrypt_range,
    encrypt,
    parse_header,
    read_range,
)
from porchlight.footage.adapters.store.errors import (
    FootageCorrupt,
    FootageRangeError,
    SourceChanged,
)
from porchlight.kernel.domain.errors import ValidationFailed

CHUNK = 64
SEALED = CHUNK + TAG_SIZE
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def seal(plaintext: bytes, key: bytes = KEY, chunk_size: int = CHUNK) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(plaintext), out, key, chunk_size=chunk_size)
    return out.getvalue()


def open_all(ciphertext: bytes, key: bytes = KEY) -> bytes:
    size = parse_header(ciphertext[:HEADER_SIZE]).plaintext_size
    return b"".join(read_range(io.BytesIO(ciphertext), key, 0, size))


def chunk(ciphertext: bytes, index: int) -> bytes:
    start = HEADER_SIZE + index * SEALED
    return ciphertext[start : start + SEALED]


def without_chunk(ciphertext: bytes, index: int) -> bytes:
    start = HEADER_SIZE + index * SEALED
    return ciphertext[:start] + ciphertext[start + SEALED :]


class Trickle(io.RawIOBase):
    """A non-seekable stream that returns at most 7 bytes per read, like a slow socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._data.readinto(memoryview(buffer)[:7])


class CountingSink(io.RawIOBase):
    """Discards what it is given, so the memory test measures only the encryptor."""

    def __init__(self) -> None:
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.written += len(data)
        return len(data)


# --- round trips and layout -------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 17])
def test_round_trip_at_chunk_edges(size: int) -> None:
    plaintext = os.urandom(size)
    ciphertext = seal(plaintext)
    chunks = max(1, -(-size // CHUNK))
    assert len(ciphertext) == HEADER_SIZE + size + chunks * TAG_SIZE
    assert open_all(ciphertext) == plaintext


def test_the_ciphertext_hides_the_plaintext_and_is_fresh_each_time() -> None:
    plaintext = b"A" * (3 * CHUNK)
    first, second = seal(plaintext), seal(plaintext)
    assert plaintext[:CHUNK] not in first
    assert first != second  # a fresh nonce prefix per object, even under the same key


def test_the_bytes_follow_the_documented_format() -> None:
    """Re-derive the object from the module docstring's spec, so the format cannot drift."""
    plaintext = os.urandom(2 * CHUNK + 10)
    ciphertext = seal(plaintext)
    header = ciphertext[:HEADER_SIZE]
    prefix = header[-8:]
    assert header == b"PLFC\x01" + struct.pack(">IQ", CHUNK, len(plaintext)) + prefix
    aead, expected = AESGCM(KEY), header
    for index in range(3):
        nonce = prefix + struct.pack(">I", index)
        aad = header + struct.pack(">IB", index, index == 2)
        expected += aead.encrypt(nonce, plaintext[index * CHUNK : (index + 1) * CHUNK], aad)
    assert ciphertext == expected


def test_equal_chunks_never_share_a_keystream() -> None:
    ciphertext = seal(bytes(3 * CHUNK))
    assert len({chunk(ciphertext, i)[:CHUNK] for i in range(3)}) == 3


def test_header_records_the_parameters() -> None:
    header = parse_header(seal(b"x" * 200)[:HEADER_SIZE])
    assert (header.chunk_size, header.plaintext_size, header.chunk_count) == (CHUNK, 200, 4)
    assert [header.chunk_length(i) for i in range(4)] == [64, 64, 64, 8]
    span = header.span(header.chunks_for(70, 130))  # chunks 1 and 2
    assert span == (HEADER_SIZE + SEALED, HEADER_SIZE + 3 * SEALED)


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=9 * CHUNK), data=st.data())
def test_every_range_reads_the_plaintext_slice(plaintext: bytes, data: st.DataObject) -> None:
    ciphertext = seal(plaintext)
    start = data.draw(st.integers(0, len(plaintext)), label="start")
    end = data.draw(st.integers(start, len(plaintext)), label="end")
    pieces = list(read_range(io.BytesIO(ciphertext), KEY, start, end))
    assert b"".join(pieces) == plaintext[start:end]
    assert all(0 < len(piece) <= CHUNK for piece in pieces)


def test_a_range_decrypts_only_the_chunks_it_touches() -> None:
    ciphertext = bytearray(seal(os.urandom(10 * CHUNK)))
    ciphertext[HEADER_SIZE + 8 * SEALED] ^= 1  # damage chunk 8 only
    assert len(b"".join(read_range(io.BytesIO(bytes(ciphertext)), KEY, 100, 500))) == 400
    with pytest.raises(FootageCorrupt, match="chunk 8"):
        b"".join(read_range(io.BytesIO(bytes(ciphertext)), KEY, 500, 600))


def test_short_reads_on_both_sides_are_handled() -> None:
    plaintext = os.urandom(3 * CHUNK + 5)
    out = io.BytesIO()
    encrypt(Trickle(plaintext), out, KEY, size=len(plaintext), chunk_size=CHUNK)  # type: ignore[arg-type]
    header = parse_header(out.getvalue()[:HEADER_SIZE])
    trickle = Trickle(out.getvalue()[HEADER_SIZE:])
    assert b"".join(decrypt_range(header, KEY, trickle, 0, len(plaintext))) == plaintext


@settings(max_examples=100, deadline=None)
@given(plaintext=st.binary(max_size=7 * CHUNK), trickle=st.booleans())
def test_the_digest_sees_every_plaintext_byte_in_order(plaintext: bytes, trickle: bool) -> None:
    """Two buffers alternate while a helper thread hashes: the hash must still be the
    plain SHA-256 of the whole plaintext, and the ciphertext unchanged by the hashing."""
    digest = hashlib.sha256()
    source = Trickle(plaintext) if trickle else io.BytesIO(plaintext)
    out = io.BytesIO()
    encrypt(source, out, KEY, size=len(plaintext), chunk_size=CHUNK, digest=digest)  # type: ignore[arg-type]
    assert digest.hexdigest() == hashlib.sha256(plaintext).hexdigest()
    assert open_all(out.getvalue()) == plaintext


def test_a_failed_encryption_leaves_no_hashing_behind() -> None:
    """The helper thread has finished when ``encrypt`` raises: nothing reads the buffers."""
    digest = hashlib.sha256()
    with pytest.raises(SourceChanged):
        encrypt(io.BytesIO(b"x" * (3 * CHUNK)), io.BytesIO(), KEY, size=4 * CHUNK,
                chunk_size=CHUNK, digest=digest)
    assert digest.hexdigest() == hashlib.sha256(b"x" * (3 * CHUNK)).hexdigest()


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), [(-1, 5), (6, 5), (0, 101), (101, 101)])
def test_bad_ranges_are_refused_before_iterating(start: int, end: int) -> None:
    ciphertext = io.BytesIO(seal(b"z" * 100))
    with pytest.raises(FootageRangeError) as caught:
        read_range(ciphertext, KEY, start, end)  # no next(): the check is eager
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.code == "range_not_satisfiable"


def test_a_source_that_shrinks_or_grows_is_refused() -> None:
    with pytest.raises(SourceChanged, match="ended early"):
        encrypt(io.BytesIO(b"x" * 100), io.BytesIO(), KEY, size=150, chunk_size=CHUNK)
    with pytest.raises(SourceChanged, match="grew"):
        encrypt(io.BytesIO(b"x" * 100), io.BytesIO(), KEY, size=90, chunk_size=CHUNK)


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(24), bytes(33)])
def test_only_256_bit_data_keys_are_accepted(key: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt(io.BytesIO(b"x"), io.BytesIO(), key)
    with pytest.raises(ValueError, match="32 bytes"):
        read_range(io.BytesIO(seal(b"x")), key, 0, 1)


@pytest.mark.parametrize("chunk_size", [0, 15, 16 * 1024 * 1024 + 1])
def test_chunk_sizes_are_bounded(chunk_size: int) -> None:
    with pytest.raises(ValueError, match="chunk size"):
        Header(chunk_size, 0, bytes(8))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"PLFC\x01", "too short"),
        (b"NOPE" + bytes(HEADER_SIZE - 4), "bad magic"),
        (b"PLFC\x02" + bytes(HEADER_SIZE - 5), "version 2"),
        (b"PLFC\x01" + bytes(HEADER_SIZE - 5), "chunk size"),
    ],
)
def test_malformed_headers_are_corrupt(raw: bytes, message: str) -> None:
    with pytest.raises(FootageCorrupt, match=message):
        parse_header(raw)


# --- tampering --------------------------------------------------------------------------


def test_flipping_any_byte_is_detected() -> None:
    ciphertext = seal(os.urandom(2 * CHUNK + 10))  # header, two full chunks, a short one
    for position in range(len(ciphertext)):
        damaged = bytearray(ciphertext)
        damaged[position] ^= 0x80
        with pytest.raises(FootageCorrupt):
            open_all(bytes(damaged))


def test_a_damaged_header_fails_even_a_read_of_one_byte() -> None:
    damaged = bytearray(seal(os.urandom(4 * CHUNK)))
    damaged[HEADER_SIZE - 1] ^= 1  # the nonce prefix
    with pytest.raises(FootageCorrupt, match="chunk 0"):
        list(read_range(io.BytesIO(bytes(damaged)), KEY, 0, 1))


@pytest.mark.parametrize("plaintext_size", [3 * CHUNK, 3 * CHUNK - 9])
def test_dropping_the_final_chunk_is_detected(plaintext_size: int) -> None:
    truncated = without_chunk(seal(os.urandom(plaintext_size)), 2)
    with pytest.raises(FootageCorrupt, match="truncated"):
        open_all(truncated)
    with pytest.raises(FootageCorrupt, match="truncated"):
        read_range(io.BytesIO(truncated), KEY, 0, 1)  # even a read far from the end


def test_truncating_inside_a_chunk_is_detected() -> None:
    ciphertext = seal(os.urandom(3 * CHUNK))
    for cut in (1, TAG_SIZE, SEALED - 1, SEALED + 3):
        with pytest.raises(FootageCorrupt):
            open_all(ciphertext[:-cut])


def test_dropping_a_middle_chunk_is_detected() -> None:
    with pytest.raises(FootageCorrupt):
        open_all(without_chunk(seal(os.urandom(4 * CHUNK)), 1))


def test_swapping_two_chunks_is_detected() -> None:
    ciphertext = seal(os.urandom(3 * CHUNK))
    swapped = ciphertext[:HEADER_SIZE] + chunk(ciphertext, 1) + chunk(ciphertext, 0)
    swapped += chunk(ciphertext, 2)
    with pytest.raises(FootageCorrupt, match="chunk 0"):
        open_all(swapped)


@pytest.mark.parametrize("junk", [b"\x00", bytes(TAG_SIZE), bytes(SEALED)])
def test_appending_bytes_is_detected(junk: bytes) -> None:
    with pytest.raises(FootageCorrupt, match="extended"):
        open_all(seal(os.urandom(2 * CHUNK)) + junk)


def test_a_chunk_spliced_from_another_object_under_the_same_key_is_detected() -> None:
    mine, theirs = seal(os.urandom(3 * CHUNK)), seal(os.urandom(3 * CHUNK))
    spliced = mine[: HEADER_SIZE + SEALED] + chunk(theirs, 1) + chunk(mine, 2)
    with pytest.raises(FootageCorrupt, match="chunk 1"):
        open_all(spliced)
    with pytest.raises(FootageCorrupt, match="chunk 0"):
        open_all(theirs[:HEADER_SIZE] + mine[HEADER_SIZE:])  # another object's header


def test_the_wrong_key_is_refused() -> None:
    for plaintext in (b"private footage", os.urandom(3 * CHUNK)):
        with pytest.raises(FootageCorrupt, match="chunk 0 failed authentication: wrong data key"):
            open_all(seal(plaintext), OTHER_KEY)


# --- memory -----------------------------------------------------------------------------


def test_encrypting_and_decrypting_64_mib_stays_in_bounded_memory(tmp_path: Path) -> None:
    source, sealed = tmp_path / "clip.mp4", tmp_path / "clip.enc"
    block = os.urandom(1 << 20)
    with source.open("wb") as out:
        for _ in range(64):
            out.write(block)

    tracemalloc.start()
    try:
        with source.open("rb") as src, sealed.open("wb") as dst:
            encrypt(src, dst, KEY)
        encrypt_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        with sealed.open("rb") as src:
            total = sum(len(piece) for piece in read_range(src, KEY, 0, 64 << 20))
        decrypt_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert total == 64 << 20
    assert sealed.stat().st_size == HEADER_SIZE + (64 << 20) + 64 * TAG_SIZE
    bound = 5 * DEFAULT_CHUNK_SIZE  # plaintext, ciphertext, the previous piece, slack
    assert encrypt_peak < bound, f"encrypt peaked at {encrypt_peak} bytes"
    assert decrypt_peak < bound, f"decrypt peaked at {decrypt_peak} bytes"


@pytest.mark.parametrize("size", [0, 20_000, 800_000])
def test_a_small_object_is_sealed_in_buffers_of_its_own_size(size: int) -> None:
    """A poster or a short clip needs no 1 MiB buffers (zeroing five of them cost more than
    sealing the clip): encrypt takes about the object's size, for plaintext, sealed
    chunk and the copy this BytesIO keeps."""
    source, sealed = io.BytesIO(os.urandom(size)), io.BytesIO()
    tracemalloc.start()
    try:
        encrypt(source, sealed, KEY, digest=hashlib.sha256())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * size + 64 * 1024, f"encrypt peaked at {peak} bytes for {size}"
    sealed.seek(0)
    assert b"".join(read_range(sealed, KEY, 0, size)) == source.getvalue()
