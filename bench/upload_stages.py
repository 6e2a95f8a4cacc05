"""Where the upload pipeline's time goes: each stage alone, then the pipeline's CPU and timeline.

Companion to ``bench/upload_bench.py`` (issue 19 item 3): that one says how fast the upload is
against a read/write copy with fsync; this one says why, on the machine it runs on.

1. Each stage alone over the same ~200 MB clip, from the page cache, on one core: read
   (``readinto``), SHA-256 (hashlib), AES-256-GCM (``encrypt_into``), write into the page
   cache, the fsync that follows, and the read/write copy with fsync it all is compared with.
2. Whether the two libraries release the GIL: SHA-256 beside AES-GCM, and AES-GCM beside
   itself, in two threads. Released, two threads take as long as the slower one alone.
3. The use case itself (hash + probe + poster + encrypt + store + commit, in this process,
   as ``upload_bench`` runs it), with the write-behind of staging files on and off in
   turns beside a copy: CPU seconds of the hashing thread, of the main thread while it
   seals, of the probe child and of the whole process, and when the seal, the probe and
   the publish ended.

Nothing is written to ``bench/RESULTS.md``; the figures are printed, with the load average.

    .venv/bin/python bench/upload_stages.py [--size-mb 200] [--rounds 6]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.upload_bench import CACHE, make_clip, plain_copy, prepare  # noqa: E402

CHUNK = 1 << 20


def best_of(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    """The shortest wall-clock time, and the least CPU time of this process (all its
    threads): on a shared machine the CPU time is the steadier figure."""
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def stages_alone(clip: Path, folder: Path, runs: int) -> None:
    plain = clip.read_bytes()
    view, size = memoryview(plain), len(plain)
    target = folder / "stage.bin"
    aead, sealed = AESGCM(secrets.token_bytes(32)), memoryview(bytearray(CHUNK + 16))

    def read() -> None:
        buffer = memoryview(bytearray(CHUNK))
        with clip.open("rb", buffering=0) as source:
            while source.readinto(buffer):
                pass

    def sha256() -> None:
        digest = hashlib.sha256()
        for at in range(0, size, CHUNK):
            digest.update(view[at:at + CHUNK])

    def aes() -> None:
        for at in range(0, size, CHUNK):
            part = view[at:at + CHUNK]
            aead.encrypt_into(bytes(12), part, b"aad", sealed[:len(part) + 16])

    def write(sync: bool) -> Callable[[], None]:
        def work() -> None:
            with target.open("wb", buffering=0) as sink:
                for at in range(0, size, CHUNK):
                    sink.write(view[at:at + CHUNK])
                if sync:
                    os.fsync(sink.fileno())
            target.unlink()
        return work

    def beside(*works: Callable[[], None]) -> Callable[[], None]:
        def work() -> None:
            threads = [threading.Thread(target=one) for one in works]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        return work

    mb = size / 1e6
    print(f"1. each stage alone, {mb:.0f} MB from the page cache, best of {runs} "
          f"(load {os.getloadavg()[0]:.2f})")
    alone = {}
    for name, work in [("read (readinto, 1 MiB)", read), ("SHA-256 (hashlib)", sha256),
                       ("AES-256-GCM (encrypt_into)", aes),
                       ("write into the page cache", write(False)),
                       ("write + fsync", write(True)),
                       ("read/write copy + fsync (the bench's)",
                        lambda: plain_copy(clip, folder))]:
        alone[name], cpu = best_of(runs, work)
        print(f"   {name:40s} {alone[name]:.3f} s  {mb / alone[name]:6.0f} MB/s  "
              f"(CPU {cpu:.3f} s: {mb / cpu:6.0f} MB/s)")
    print(f"   (fsync alone: write + fsync - write = "
          f"{alone['write + fsync'] - alone['write into the page cache']:.3f} s)")
    print(f"2. the GIL (load {os.getloadavg()[0]:.2f})")
    for name, work in [("SHA-256 beside AES-GCM, two threads", beside(sha256, aes)),
                       ("AES-GCM beside AES-GCM, two threads", beside(aes, aes))]:
        wall, cpu = best_of(runs, work)
        print(f"   {name:40s} {wall:.3f} s  (CPU {cpu:.3f} s)")


class _TimedDigest:
    """hashlib's SHA-256, counting the CPU time of the thread that feeds it."""

    cpu = 0.0

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def update(self, data: memoryview) -> None:
        started = time.thread_time()
        self._digest.update(data)
        _TimedDigest.cpu += time.thread_time() - started

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def pipeline(clip: Path, rounds: int) -> None:
    from porchlight import bootstrap
    from porchlight.config import Settings
    from porchlight.footage.adapters.store import store as footage_store
    from porchlight.footage.adapters.store.local import WRITE_BEHIND
    from porchlight.footage.services import library
    from porchlight.footage.services.commands import ReceivedFile, UploadClip

    marks: dict[str, float] = {}
    seal_cpu = [0.0]
    encrypt, examine, publish = footage_store.encrypt, None, library._publish

    def timed_encrypt(*args, **kwargs):
        started = time.thread_time()
        try:
            return encrypt(*args, **kwargs)
        finally:
            seal_cpu[0] += time.thread_time() - started
            marks.setdefault("sealed", time.perf_counter())

    def timed_publish(*args):
        publish(*args)
        marks["published"] = time.perf_counter()

    footage_store.encrypt = timed_encrypt
    footage_store.hashlib = type("hashlib", (), {"sha256": _TimedDigest})
    library._publish = timed_publish
    ticks = os.sysconf("SC_CLK_TCK")

    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        data = Path(tmp) / "var"
        _, _, cameras = prepare(data, 2 * rounds + 1)
        container = bootstrap.build(Settings(data_dir=data, env="test"))
        kit, video = container.footage, container.footage.video
        examine = type(video).examine

        def timed_examine(self, *args, **kwargs):
            try:
                return examine(self, *args, **kwargs)
            finally:
                marks["probed"] = time.perf_counter()

        type(video).examine = timed_examine

        def children_cpu() -> float:
            """CPU of the zygote's reaped children: the forked probe children."""
            zygote = video._zygote
            if zygote is None:
                return float("nan")
            fields = Path(f"/proc/{zygote[0].pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[13]) + int(fields[14])) / ticks

        def run(camera: str, minutes_ago: int) -> dict[str, float]:
            marks.clear()
            _TimedDigest.cpu, seal_cpu[0] = 0.0, 0.0
            before, probe_before = os.times(), children_cpu()
            started = time.perf_counter()
            result = library.upload_clip(
                container.uow(), kit, UUID(camera),
                UploadClip(UUID(camera), datetime.now(UTC) - timedelta(minutes=minutes_ago),
                           ReceivedFile(clip, clip.stat().st_size)))
            total, after = time.perf_counter() - started, os.times()
            assert result.created
            time.sleep(0.2)  # the zygote reaps its child
            for key in list(kit.store.keys(f"clips/{camera}/")):
                kit.store.delete(key)
            return {"total": total, "hash cpu": _TimedDigest.cpu, "seal cpu": seal_cpu[0],
                    "probe cpu": children_cpu() - probe_before,
                    "process cpu": after.user + after.system - before.user - before.system,
                    **{f"{name} at": at - started for name, at in marks.items()}}

        run(cameras[0], 59)  # warm-up: the zygote
        found: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
        copies = []
        print("3. the use case, write-behind on and off in turns beside a copy")
        for n in range(rounds):
            copies.append(plain_copy(clip, Path(tmp))[1])
            for variant in (("on", "off") if n % 2 == 0 else ("off", "on")):
                kit.store.objects.write_behind = None if variant == "off" else WRITE_BEHIND
                figures = run(cameras[1 + 2 * n + (variant == "off")], 58 - n)
                found[variant].append(figures)
                print(f"   round {n} load {os.getloadavg()[0]:.2f} write-behind {variant:3s} "
                      f"copy {copies[-1]:.3f} s | " +
                      " ".join(f"{k} {v:.3f}" for k, v in figures.items()), flush=True)
        container.close()
    copy = statistics.median(copies)
    print(f"   medians: read/write copy + fsync {copy:.3f} s")
    for variant, runs in found.items():
        medians = {k: statistics.median(r[k] for r in runs if k in r) for k in runs[0]}
        print(f"   write-behind {variant:3s}: " + " ".join(f"{k} {v:.3f}" for k, v in
                                                      medians.items()) +
              f" | ratio {copy / medians['total']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=5, help="best of, for stages alone")
    args = parser.parse_args()
    clip = make_clip(args.size_mb)
    print(f"hashlib.sha256 is {hashlib.sha256.__name__}; CPU flags: " + " ".join(
        flag for flag in ("sha_ni", "aes", "vaes", "avx2")
        if flag in Path("/proc/cpuinfo").read_text().split()))
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        stages_alone(clip, Path(tmp), args.runs)
    pipeline(clip, args.rounds)


if __name__ == "__main__":
    main()
