"""Job queue benchmark: jobs per second, and the delay from commit to job start, for the
embedded queue and the server-backed one, with 1 and 2 `porchlight worker` processes.

Run it from the project root:

    .venv/bin/python bench/jobs_bench.py                      # embedded only, unless the
                                                               # variables below are set
    .venv/bin/python bench/jobs_bench.py \\
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --redis-url redis://127.0.0.1:6379/0 --results bench/RESULTS.md

The queues:

- embedded: the database is a SQLite file and huey carries the wake-ups on another SQLite
  file, both in a scratch data folder (what `make run` uses; no server);
- server: a PostgreSQL database (a scratch database created beside the one
  --postgres-url / PORCHLIGHT_TEST_POSTGRES_URL names, dropped afterwards) and huey on
  Redis (--redis-url / PORCHLIGHT_TEST_REDIS_URL, in a queue of its own, flushed
  afterwards). Without both it is left out and the report says how to provide them; the
  script installs nothing and changes nothing outside its scratch folder and database.

For each queue and worker count it starts that many real `porchlight worker` processes
(default settings: 2 job threads each, audit sequencing every second, the sweeper every
10 s), configured only through PORCHLIGHT_* variables, waits until they are up, and:

1. delay: commits --paced jobs one per transaction, --rate a second, and measures each
   job's delay from its commit (when `commit()` returns, before the wake-up is sent) to
   its start (the worker's claim of the row; a trigger in the scratch database stamps it)
   -> p50 and p95;
2. throughput: commits --jobs jobs in one transaction and times from that commit to the
   last job's finish -> jobs/s.

The order: the delay is measured before the burst. During a backlog every worker's sweeper
(every 10 s) wakes each pending job again although its wake-up is still queued, so a burst
leaves hundreds of duplicate wake-ups behind it; each costs a claim transaction that finds
the job done, and a job committed then waits behind them (seconds at p95 in a trial run).

The job is a request notice for a delivery that does not exist, made the way the app
makes one (a `DeliveryCreated` event through the message bus into the outbox): the worker
claims it, reads that there is nothing to mail and marks it done. So the figures are the
queue's own cost: the outbox row, the wake-up, the claim, the handler's one read, the
finish.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import quantiles

from sqlalchemy import Engine, create_engine, select, text

from porchlight import bootstrap
from porchlight.config import Settings
from porchlight.kernel.adapters.db import tables
from porchlight.requests.domain.consent import DeliveryCreated

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.results import machine_lines, replace_section, scratch_postgres

HOW_TO_PROVIDE = (
    "the server-backed queue needs PostgreSQL and Redis: pass --postgres-url "
    "postgresql+psycopg://USER@HOST:5432/DB (a database to create a scratch one beside) and "
    "--redis-url redis://HOST:6379/N, or set PORCHLIGHT_TEST_POSTGRES_URL and "
    "PORCHLIGHT_TEST_REDIS_URL (e.g. Debian's postgresql and redis-server packages)"
)

SQLITE_TRIGGER = """
CREATE TABLE bench_job_starts (job_id CHAR(32) NOT NULL, started_at REAL NOT NULL);
CREATE TRIGGER bench_job_started AFTER UPDATE OF state ON jobs
WHEN NEW.state = 'running' AND OLD.state = 'pending'
BEGIN
  INSERT INTO bench_job_starts VALUES (NEW.id, (julianday('now') - 2440587.5) * 86400.0);
END;
"""
POSTGRES_TRIGGER = [
    "CREATE TABLE bench_job_starts (job_id uuid NOT NULL, started_at double precision NOT NULL)",
    """CREATE FUNCTION bench_job_started() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO bench_job_starts VALUES (NEW.id, extract(epoch FROM clock_timestamp()));
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER bench_job_started AFTER UPDATE OF state ON jobs FOR EACH ROW
       WHEN (NEW.state = 'running' AND OLD.state = 'pending')
       EXECUTE FUNCTION bench_job_started()""",
]


@dataclass
class Figures:
    queue: str
    workers: int
    jobs: int
    burst_s: float
    paced: int
    delays: list[float]

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.burst_s

    def delay(self, percent: int) -> float:
        return quantiles(self.delays, n=100, method="inclusive")[percent - 1]


@dataclass
class Queue:
    name: str
    settings: Settings
    env: dict[str, str]


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCHLIGHT_")}
    env.update({"PORCHLIGHT_ENV": settings.env, "PORCHLIGHT_DATA_DIR": str(settings.data_dir),
                "PORCHLIGHT_JOBS__BACKEND": settings.jobs.backend or "",
                "PORCHLIGHT_JOBS__QUEUE_NAME": settings.jobs.queue_name,
                "PORCHLIGHT_STORAGE__VIDEO_SPARE_WORKER": "false"})
    if settings.database.url:
        env["PORCHLIGHT_DATABASE__URL"] = settings.database.url
    if settings.redis_url:
        env["PORCHLIGHT_REDIS_URL"] = settings.redis_url
    return env


def base_settings(data_dir: Path, backend: str, **changes: object) -> Settings:
    settings = Settings(env="development", data_dir=data_dir)
    jobs = settings.jobs.model_copy(update={"backend": backend,
                                            "queue_name": f"bench-{uuid.uuid4().hex[:10]}"})
    return settings.model_copy(update={"jobs": jobs, **changes})


def server_problem(postgres_url: str | None, redis_url: str | None) -> str | None:
    """Why the server-backed queue cannot run here, or None."""
    if not postgres_url or not redis_url:
        return HOW_TO_PROVIDE
    try:
        engine = create_engine(postgres_url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # any failure to connect: say which and how to fix it
        return f"cannot reach PostgreSQL at {postgres_url} ({type(error).__name__}); " \
               + HOW_TO_PROVIDE
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as error:
        return f"cannot reach Redis at {redis_url} ({type(error).__name__}); " + HOW_TO_PROVIDE
    return None


def add_start_trigger(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        raw = sqlite3.connect(engine.url.database or "")
        raw.executescript(SQLITE_TRIGGER)
        raw.close()
        return
    with engine.begin() as connection:
        for statement in POSTGRES_TRIGGER:
            connection.execute(text(statement))


@contextmanager
def workers_running(queue: Queue, count: int, logs: Path) -> Iterator[None]:
    command = [str(Path(sys.executable).with_name("porchlight")), "worker"]
    procs, files = [], []
    for n in range(count):
        path = logs / f"{queue.name}-{count}-{n}.log"
        files.append(path)
        with path.open("wb") as log:
            procs.append(subprocess.Popen(command, env=queue.env, stdout=log,
                                          stderr=subprocess.STDOUT, cwd=logs))
    try:
        deadline = time.monotonic() + 60
        while not all("Ctrl-C stops" in f.read_text(errors="replace") for f in files):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker did not start:\n" + "\n".join(
                    f.read_text(errors="replace")[-2000:] for f in files))
            time.sleep(0.1)
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def commit_jobs(container: bootstrap.Container, count: int) -> tuple[float, list[str]]:
    """Commit ``count`` jobs in one transaction the way the app does; (commit time, keys)."""
    delivery_ids = [uuid.uuid4() for _ in range(count)]
    uow = container.uow()
    with uow:
        for delivery_id in delivery_ids:
            uow.record(DeliveryCreated(actor_id=None, delivery_id=delivery_id))
        uow.commit()
        committed = time.time()
    return committed, [f"mail.request_notice:{d}" for d in delivery_ids]


def wait_done(engine: Engine, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as connection:
            left = connection.execute(text(
                "SELECT count(*) FROM jobs WHERE state != 'done'")).scalar()
        if not left:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{left} jobs not done after {timeout:.0f} s")
        time.sleep(0.02)


def last_finish(engine: Engine, keys: set[str]) -> float:
    with engine.connect() as connection:
        rows = connection.execute(select(tables.jobs.c.key, tables.jobs.c.finished_at)).all()
    return max(finished.timestamp() for key, finished in rows if key in keys)


def starts(engine: Engine) -> dict[str, float]:
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT j.key, min(s.started_at) FROM bench_job_starts s JOIN jobs j "
            "ON j.id = s.job_id GROUP BY j.key")).all()
    return {key: started for key, started in rows}


def measure(queue: Queue, count: int, args: argparse.Namespace, logs: Path) -> Figures:
    container = bootstrap.build(queue.settings)
    try:
        container.migrate()
        add_start_trigger(container.engine)
        with workers_running(queue, count, logs):
            commit_jobs(container, 20)  # warm up
            wait_done(container.engine)
            commits: dict[str, float] = {}  # the delay first: see "The order" in the docstring
            for _ in range(args.paced):
                at, [key] = commit_jobs(container, 1)
                commits[key] = at
                time.sleep(max(0.0, at + 1 / args.rate - time.time()))
            wait_done(container.engine)
            committed, keys = commit_jobs(container, args.jobs)
            wait_done(container.engine)
            burst_s = last_finish(container.engine, set(keys)) - committed
        started = starts(container.engine)
        delays = [started[key] - at for key, at in commits.items()]
        return Figures(queue.name, count, args.jobs, burst_s, args.paced, delays)
    finally:
        if queue.settings.job_backend == "redis":
            container.queue.huey.flush()  # type: ignore[attr-defined]
        container.close()


@contextmanager
def queues(args: argparse.Namespace, scratch: Path, notes: list[str]) -> Iterator[list[Queue]]:
    found = [Queue("embedded (SQLite + huey on SQLite)", s := base_settings(
        scratch / "embedded", "sqlite"), worker_env(s))]
    problem = server_problem(args.postgres_url, args.redis_url)
    if problem:
        notes.append(f"server-backed queue not measured: {problem}")
        print(notes[-1], file=sys.stderr)
        yield found
        return
    with scratch_postgres(args.postgres_url, "porchlight_jobs_bench") as url:
        settings = base_settings(scratch / "server", "redis", redis_url=args.redis_url)
        settings = settings.model_copy(update={"database": settings.database.model_copy(
            update={"url": url})})
        found.append(Queue("server (PostgreSQL + huey on Redis)", settings,
                           worker_env(settings)))
        yield found


def fresh(queue: Queue, count: int, scratch: Path) -> Queue:
    """Each run gets an empty data folder, database and queue of its own."""
    data_dir = scratch / f"{queue.settings.jobs.backend}-{count}"
    changes: dict[str, object] = {"data_dir": data_dir, "jobs": queue.settings.jobs.model_copy(
        update={"queue_name": f"bench-{uuid.uuid4().hex[:10]}"})}
    settings = queue.settings.model_copy(update=changes)
    return Queue(queue.name, settings, worker_env(settings))


def run(args: argparse.Namespace) -> tuple[list[Figures], list[str]]:
    notes: list[str] = []
    figures = []
    with tempfile.TemporaryDirectory(prefix="jobs-bench-") as folder:
        scratch = Path(folder)
        logs = scratch / "logs"
        logs.mkdir()
        with queues(args, scratch, notes) as found:
            for queue in found:
                for count in args.workers:
                    if queue.settings.database.url:  # a fresh PostgreSQL schema per run
                        _reset_postgres(queue.settings.database.url)
                    result = measure(fresh(queue, count, scratch), count, args, logs)
                    figures.append(result)
                    print(_row(result), flush=True)
    return figures, notes


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _row(f: Figures) -> str:
    return (f"| {f.queue} | {f.workers} | {f.jobs:,} | {f.burst_s:.2f} s | "
            f"{f.jobs_per_s:,.0f} | {f.paced} | {f.delay(50) * 1000:.0f} ms | "
            f"{f.delay(95) * 1000:.0f} ms |")


def report(args: argparse.Namespace, figures: list[Figures], notes: list[str]) -> list[str]:
    command = ".venv/bin/python " + shlex.join(["bench/jobs_bench.py", *sys.argv[1:]])
    lines = [*machine_lines(), f"- SQLite {sqlite3.sqlite_version}, "
             f"{platform.python_implementation()}", "", "```sh", command, "```", "",
             f"Throughput: {args.jobs:,} jobs committed in one transaction, timed from the "
             "commit to the last one's finish. Delay: "
             f"{args.paced} jobs committed one by one, {args.rate:g} a second, each from its "
             "commit to its claim by a worker. Each worker process runs 2 job threads.", "",
             "| queue | worker processes | jobs | commit to last finish | jobs/s | paced jobs "
             "| delay p50 | delay p95 |", "|---|---|---|---|---|---|---|---|",
             *(_row(f) for f in figures)]
    return lines + ([""] + [f"- {note}" for note in notes] if notes else [])


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500, help="jobs in the throughput burst")
    parser.add_argument("--paced", type=int, default=100, help="jobs for the delay figures")
    parser.add_argument("--rate", type=float, default=5.0,
                        help="paced jobs a second: well below the throughput, so the delay "
                        "is the queue's latency, not a backlog")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--postgres-url", default=os.environ.get("PORCHLIGHT_TEST_POSTGRES_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("PORCHLIGHT_TEST_REDIS_URL"))
    parser.add_argument("--results", type=Path, help="write the section into this RESULTS.md")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop workers, drop the scratch
    figures, notes = run(args)
    lines = report(args, figures, notes)
    print("\n".join(lines))
    if args.results:
        replace_section(args.results, "jobs", "Job queue (issue 14)", lines)


if __name__ == "__main__":
    main(sys.argv[1:])
