"""HTTP Range parsing for playback: one byte range, as browsers send it."""

from __future__ import annotations

import pytest

from porchlight.entrypoints.web.clip_pages import RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(("header", "expected"), [
    (None, None), ("", None),
    ("bytes=0-", (0, 1000)), ("bytes=0-0", (0, 1)), ("bytes=100-199", (100, 200)),
    ("bytes=900-5000", (900, 1000)), ("bytes=-10", (990, 1000)), ("bytes=-5000", (0, 1000)),
])
def test_satisfiable_ranges(header: str | None, expected: tuple | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", [
    "bytes=1000-", "bytes=1500-1600", "bytes=-0", "bytes=-", "bytes=5-2",
    "items=0-10", "bytes=0-10,20-30", "bytes=a-b",
])
def test_unsatisfiable_or_malformed_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)
