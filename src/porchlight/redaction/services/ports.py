"""The port the redaction use cases need; `redaction.adapters` implements it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from porchlight.redaction.domain.options import RedactionOptions, RedactionReport

Progress = Callable[[int, int], None]  # (frames done, frames in all)


class RedactionFailed(Exception):
    """The source could not be redacted (unreadable video, no model); nothing was written."""


class Redactor(Protocol):
    def redact(self, source: Path, target: Path, options: RedactionOptions,
               progress: Progress | None = None) -> RedactionReport:
        """Write an H.264 MP4 to ``target`` with every face covered except the tracks in
        ``options.keep_visible``; raise RedactionFailed and leave no ``target`` behind
        when it cannot."""
        ...

    def snapshots(self, video: Path, frames: Sequence[int], width: int = 480) -> list[bytes]:
        """JPEG images of the given frames of ``video`` (for the owner to check)."""
        ...
