"""Threads joined by bounded queues, and a way to stop them all when one fails.

Decoding, detection and encoding each run in their own thread; FFmpeg, onnxruntime and
numpy release the GIL in their heavy calls, so the stages overlap on separate cores.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

END = object()
POLL = 0.1


class Stopped(Exception):
    """Another stage failed or the run was abandoned."""


class Pipe:
    def __init__(self, size: int, stop: threading.Event) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(size)
        self._stop = stop

    def put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=POLL)
                return
            except queue.Full:
                continue
        raise Stopped

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                item = self._queue.get(timeout=POLL)
            except queue.Empty:
                if self._stop.is_set():
                    raise Stopped from None
                continue
            if item is END:
                return
            yield item


class Stages:
    """Starts stage threads; the first error stops every stage and is raised by ``join``."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    def pipe(self, size: int) -> Pipe:
        return Pipe(size, self.stop)

    def start(self, name: str, work: Callable[[], None], output: Pipe) -> None:
        def run() -> None:
            try:
                work()
                output.put(END)
            except Stopped:
                return
            except BaseException as exc:  # handed to the caller by join()
                self._errors.append(exc)
                self.stop.set()

        thread = threading.Thread(target=run, name=f"redaction-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]

    def abandon(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()
