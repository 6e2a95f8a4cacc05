"""Audit log benchmark: sequencing throughput and whole-log verification against hashlib.

Run it from the project root:

    .venv/bin/python bench/audit_bench.py                      # SQLite, 1,000,000 events
    .venv/bin/python bench/audit_bench.py --events 200000      # a quicker run
    .venv/bin/python bench/audit_bench.py --postgres-url postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/audit_bench.py --results bench/RESULTS.md

PostgreSQL runs when --postgres-url or PORCHLIGHT_TEST_POSTGRES_URL is given (a scratch
database is created beside the one named, and dropped afterwards).  For each backend it:

1. writes N audit events (ids, codes, digests — the shape real events have), untimed;
2. times the sequencer over all of them (real clock, checkpoint every 5 s) -> events/s;
3. times `verify` of the whole log: stream every leaf, hash it, recompute the tree, check
   every stored leaf hash, every checkpoint signature and root, and the consistency of
   each checkpoint with the next (`porchlight audit verify --no-events`), --repeat times;
4. times hashlib alone on the same leaf bytes, already in memory: N leaf hashes and N - 1
   node hashes, level by level — the physical limit the verification is measured against;
   --repeat times, each right after a verification (side by side, under the same load);
5. times the same with every leaf also re-derived from its event (`porchlight audit
   verify`, the full local check), once, unless --no-event-check.

--runs repeats all of it on a fresh database (issue 19 item 2: three consecutive runs);
every run is reported, with the load average at its start and end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shlex
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from porchlight.audit.adapters.sql_log import SqlAuditLogStore
from porchlight.audit.adapters.sql_source import SqlAuditLogSource
from porchlight.audit.domain import CheckpointSigner, CheckpointVerifier
from porchlight.audit.services.log import Sequencer, SequencerConfig
from porchlight.audit.services.verify import verify_log
from porchlight.kernel.adapters.db import migrate, tables
from porchlight.kernel.adapters.db.engine import make_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.results import replace_section

ORIGIN = "bench.porchlight.local/log"
_sha256 = hashlib.sha256


@dataclass
class Figures:
    backend: str
    events: int
    run: int = 1
    insert_s: float = 0.0
    sequence_s: float = 0.0
    sequence_cpu_s: float = 0.0
    checkpoints: int = 0
    verify_s: float = 0.0
    verify_events_s: float = 0.0
    hashlib_s: float = 0.0
    hashes: int = 0
    verify_all: list[float] = field(default_factory=list)
    hashlib_all: list[float] = field(default_factory=list)
    load: list[str] = field(default_factory=list)
    started: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.events / self.sequence_s

    @property
    def ratio(self) -> float:
        return self.verify_s / self.hashlib_s


class ShiftedClock:
    """The real clock, plus an offset the benchmark moves to force a final checkpoint."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def event_rows(start: int, count: int) -> list[dict]:
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        {
            "kind": ("clip.viewed", "consent.granted", "camera.registered")[i % 3],
            "version": 1,
            "occurred_at": moment + timedelta(milliseconds=i),
            "actor_id": uuid.UUID(int=i % 5000 + 1),
            "payload": {"camera_id": str(uuid.UUID(int=10**9 + i)),
                        "clip_sha256": _sha256(b"%d" % i).hexdigest(), "granted": i % 2 == 0},
        }
        for i in range(start, start + count)
    ]


def write_events(engine: Engine, count: int) -> float:
    started = time.perf_counter()
    with engine.begin() as connection:
        for start in range(0, count, 20_000):
            connection.execute(insert(tables.audit_events),
                               event_rows(start, min(20_000, count - start)))
    return time.perf_counter() - started


def sequence(engine: Engine, figures: Figures, signer: CheckpointSigner, batch: int) -> None:
    clock = ShiftedClock()
    config = SequencerConfig(ORIGIN, batch, timedelta(seconds=5))
    sequencer = Sequencer(SqlAuditLogStore(engine), signer, clock, config)
    started, cpu = time.perf_counter(), time.process_time()
    result = sequencer.run_pass()
    figures.sequence_s = time.perf_counter() - started
    figures.sequence_cpu_s = time.process_time() - cpu  # this process only, not the server
    assert result.sequenced == figures.events, result
    clock.offset = timedelta(hours=1)  # sign the final tree head (untimed)
    sequencer.run_pass()


def timed_verify(engine: Engine, verifier: CheckpointVerifier, *, events: bool) -> float:
    with SqlAuditLogSource.open(engine) as source:
        started = time.perf_counter()
        report = verify_log(source, verifier, events=source if events else None)
        elapsed = time.perf_counter() - started
    assert report.ok, report.problems
    return elapsed


def verify(engine: Engine, figures: Figures, verifier: CheckpointVerifier,
           args: argparse.Namespace) -> None:
    """``repeat`` verifications, each followed by bare hashing of the same leaves (kept in
    memory, read untimed), so each pair runs under the same load; the ratio compares the
    best of each.  Then one verification with the events, unless skipped."""
    with SqlAuditLogSource.open(engine) as source:
        datas = [row[0] for rows in source.leaf_data(0, source.size()) for row in rows]
        figures.checkpoints = sum(1 for _ in source.checkpoints())
    for _ in range(args.repeat):
        figures.verify_all.append(timed_verify(engine, verifier, events=False))
        seconds, figures.hashes = hash_tree(datas)
        figures.hashlib_all.append(seconds)
    figures.verify_s, figures.hashlib_s = min(figures.verify_all), min(figures.hashlib_all)
    if not args.no_event_check:
        figures.verify_events_s = timed_verify(engine, verifier, events=True)


def hash_tree(datas: list[bytes]) -> tuple[float, int]:
    """Leaf hashes then node hashes level by level: (seconds, number of hashes)."""
    sha, count = _sha256, 0
    started = time.perf_counter()
    level = [sha(b"\x00" + data).digest() for data in datas]
    count += len(level)
    while len(level) > 1:
        pairs = [sha(b"\x01" + level[i] + level[i + 1]).digest()
                 for i in range(0, len(level) - 1, 2)]
        count += len(pairs)
        level = pairs + level[len(level) - len(level) % 2 :]
    return time.perf_counter() - started, count


@contextmanager
def sqlite_engine(workdir: Path) -> Iterator[Engine]:
    path = workdir / "bench.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def postgres_engine(url: str) -> Iterator[Engine]:
    admin_url = make_url(url)
    name = f"porchlight_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(admin_url.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run_backend(backend: str, engine: Engine, args: argparse.Namespace, run: int) -> Figures:
    figures = Figures(backend, args.events, run, started=f"{datetime.now(UTC):%H:%M}",
                      load=[load_average()])
    signer = CheckpointSigner.generate(ORIGIN)
    migrate.upgrade(engine)
    say(f"[{backend} run {run}] writing {args.events:,} audit events")
    figures.insert_s = write_events(engine, args.events)
    say(f"[{backend} run {run}] sequencing (batches of {args.batch_size}); load {figures.load[0]}")
    sequence(engine, figures, signer, args.batch_size)
    figures.load.append(load_average())
    say(f"[{backend} run {run}] {figures.events_per_s:,.0f} events/s; verifying")
    verify(engine, figures, CheckpointVerifier(signer.verifier_key, origin=ORIGIN), args)
    figures.load.append(load_average())
    say(f"[{backend} run {run}] verify {figures.verify_s:.2f} s, with events "
        f"{figures.verify_events_s:.2f} s, hashlib alone {figures.hashlib_s:.2f} s "
        f"({figures.ratio:.2f}x); load {figures.load[-1]}")
    return figures


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor() or "unknown")
    memory = next((line.split(":", 1)[1].strip() for line in
                   Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "unknown")
    return {"CPU": cpu, "cores (nproc)": str(os.cpu_count()), "memory": memory,
            "Python": platform.python_version(), "SQLite": sqlite3.sqlite_version,
            "OS": platform.platform()}


def report(results: list[Figures], args: argparse.Namespace, server: str | None) -> str:
    info = machine()
    if server:
        info["PostgreSQL"] = server
    lines = [f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with:", "", "```sh",
             " ".join([".venv/bin/python bench/audit_bench.py", *map(shlex.quote, args.argv)]),
             "```", "", "| machine | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in info.items()]
    lines += ["", "| run (UTC) | backend | events | sequencing (CPU of this process) | "
              "events/s | checkpoints | "
              "verify, each (tree + signatures) | hashlib alone, each | verify / hashlib "
              "(best / best) | verify + re-derive every event | load average (1, 5, 15 min) "
              "at start / after sequencing / after verifying |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in results:
        events_check = f"{f.verify_events_s:.2f} s" if f.verify_events_s else "not run"
        lines.append(
            f"| {f.run}: {f.started} | {f.backend} | {f.events:,} | {f.sequence_s:.1f} s "
            f"({f.sequence_cpu_s:.1f} s) | "
            f"{f.events_per_s:,.0f} | {f.checkpoints} | "
            f"{', '.join(f'{v:.2f}' for v in f.verify_all)} s | "
            f"{', '.join(f'{v:.2f}' for v in f.hashlib_all)} s ({f.hashes:,} hashes) | "
            f"{f.ratio:.2f}x | {events_check} | {' / '.join(f.load)} |")
    lines += ["", "Goals: sequencing at least 20,000 events/s; verification within 2x of "
              "hashlib alone.", ""]
    for f in results:
        lines.append(
            f"- run {f.run}, {f.backend}: sequencing {f.events_per_s:,.0f} events/s "
            f"({'met' if f.events_per_s >= 20_000 else 'NOT met'}); verification "
            f"{f.verify_s:.2f} s against {f.hashlib_s:.2f} s of bare hashing, {f.ratio:.2f}x "
            f"({'met' if f.ratio <= 2 else 'NOT met'}).")
    return "\n".join(lines) + "\n"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="events to sequence; the verified log has as many leaves")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed verifications and bare hashings per run (all reported)")
    parser.add_argument("--runs", type=int, default=1,
                        help="whole runs, each on a fresh database (all reported)")
    parser.add_argument("--no-event-check", action="store_true",
                        help="skip the verification that re-derives every leaf from its event")
    parser.add_argument("--postgres-url", default=os.environ.get("PORCHLIGHT_TEST_POSTGRES_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--results", type=Path, help="write a Markdown report here")
    args = parser.parse_args(argv)
    args.argv = argv
    return args


def main(argv: list[str]) -> None:
    args = parse(argv)
    results, server = [], None
    for run in range(1, args.runs + 1):
        if not args.skip_sqlite:
            with tempfile.TemporaryDirectory() as workdir, sqlite_engine(Path(workdir)) as engine:
                results.append(run_backend("SQLite", engine, args, run))
        if args.postgres_url:
            with postgres_engine(args.postgres_url) as engine:
                with engine.connect() as connection:
                    server = connection.execute(text("SHOW server_version")).scalar_one()
                results.append(run_backend("PostgreSQL", engine, args, run))
    text_report = report(results, args, server)
    print(text_report)
    if args.results:
        replace_section(args.results, "audit", "Audit log (issue 4)",
                        text_report.rstrip("\n").split("\n"))


if __name__ == "__main__":
    main(sys.argv[1:])
