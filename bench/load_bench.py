"""Load benchmark (issue 19 item 5): the highest request rate served with p95 under 500 ms
and no errors, the CPU per request of each kind, and the audit sequencer's backlog, for the
embedded default and for PostgreSQL + huey on Redis + several web and worker processes.

    .venv/bin/python bench/load_bench.py \\
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        --redis-url redis://127.0.0.1:6379/7 --results bench/RESULTS.md

Each configuration is a fresh deployment in a scratch folder (and, for the server one, a
scratch PostgreSQL database beside the one named, dropped afterwards, and a huey queue of
its own on Redis, flushed afterwards), built only with the product's CLI and use cases:

1. `porchlight db upgrade`, `porchlight demo seed --no-clips` (720 homes, ~400 cameras,
   three verified agencies with staff), then this script's `--populate` step in a child
   process: 60 residents with passwords in 12 clusters of 5 homes (each cluster ~3 km
   from the demo grid, homes within ~40 m), one opted-in camera each with a device token
   and a clip (~0.8 MB, uploaded through the upload use case), an API token each, and a
   session opened through the sign-in use case (the cookie the simulated browser sends);
   API tokens for the demo officers of the two local agencies.
2. The servers: `porchlight serve` (embedded: one process; jobs and audit sequencing in
   its threads, the README's default) or `porchlight serve --workers N` plus M `porchlight
   worker` processes (server: PostgreSQL, huey on Redis, jobs and sequencing off in the web
   processes).
3. Idle: the deployment's CPU with no load (job pollers, sweeps), the baseline.
4. One step per kind of request alone, at a fixed rate (`--kind-seconds`): its CPU from
   the measured window's start until every job it caused has finished (the queue drained,
   the audit minute's sequencing job aside), minus the idle baseline over that time,
   divided by the requests of the window. Jobs caused in the warm-up and run in the window
   roughly balance those caused at the window's end and run after it.
5. The ladder: the whole mix at offered rates `--ladder` (requests/s), `--step-seconds`
   each after a warm-up, until a step misses p95 < 500 ms or has an error (and one more,
   to show the knee). Per step: the achieved rate, p50/p95 overall and per request name,
   the CPU seconds per second of each process role (web, worker, video sandbox, and the
   load generator itself, which shares the cores), the load average, the audit backlog
   (events committed but not yet in the log: rows of `audit_events` past the last
   sequenced one, and the oldest one's age; by design up to a minute of events waits for
   its batch) and the jobs waiting.

CPU is read from /proc/<pid>/stat (utime + stime + cutime + cstime) over each server's
whole process tree: the uvicorn supervisor and its web processes, each process's video
zygote and the children it forks (reaped children's time lands in the reaper's cutime, so
the sum over the live tree is exact), and the worker processes. The load generator is
locust (headless, `bench/locustfile.py`), one process, run afresh for each step; its CPU
is reported beside the server's, not in it.

The mix, as shares of requests: anonymous pages 30% (`/` 15, `/audit` 10, `/agencies` 5),
signed-in residents 50% (`/clips` 20, `/inbox` 15, a clip's first range 15), device
uploads 10%, officers creating requests 1%, residents answering 9% (inbox list, disclosure,
consent or decline, one request per step).

Arrivals are open and independent: each simulated user's requests form a Poisson process
(exponential gaps from a random start, `poisson_arrivals` in the locustfile), so the offered
load is Poisson traffic, as from many independent people. The first runs (before
2026-12-05) paced every user with locust's `constant_throughput` after spawning them all in
the same instant: each second's requests then arrived as one burst, and the measured
latency was mostly the burst queueing (anonymous pages alone at 20/s: server-side 80 ms
per request in lockstep against 5 ms with independent arrivals, same server, same CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.results import machine_lines, replace_section, scratch_postgres  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "porchlight-bench"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PASSWORD = "load bench resident password"
CLUSTERS, PER_CLUSTER, CLIPS_EACH = 12, 5, 1
P95_LIMIT_MS = 500.0
TODAY_RPS = 45.0

# share of requests, and at most this many requests/s per simulated user
MIX = {"Anonymous": 0.30, "Resident": 0.50, "Device": 0.10, "Officer": 0.01, "Answerer": 0.09}
PER_USER = {"Anonymous": 1.0, "Resident": 1.0, "Device": 0.5, "Officer": 0.5, "Answerer": 1.0}
CAP = {"Device": CLUSTERS * PER_CLUSTER, "Answerer": CLUSTERS * PER_CLUSTER}
KINDS = {"Anonymous": "anonymous pages", "Resident": "resident reads", "Device": "device upload",
         "Officer": "officer creates request", "Answerer": "resident answers"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- the clip ---------------------------------------------------------------------------


def make_clip() -> Path:
    """A ~0.8 MB doorbell clip: 1280x720 H.264, 8 s at 15 fps, 800 kbit/s, with sensor
    grain so the encoder spends the bit rate (encoded once with PyAV, cached)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / "load-clip-720p-8s.mp4"
    if path.exists():
        return path
    from tests.integration.video_encode import Clip, encode

    partial = path.with_name(f".{path.name}.partial")
    encode(Clip(partial, (1280, 720), 8, rate=15, container="mp4", bit_rate=800_000,
                options={"minrate": "800k", "maxrate": "800k", "bufsize": "1600k"}, grain=8,
                muxer={"movflags": "+faststart"}))
    partial.replace(path)
    return path


# ---- the population (runs in a child process with the deployment's environment) --------


def populate(out: Path, clip: Path) -> None:
    import struct

    from porchlight import bootstrap
    from porchlight.accounts.domain.auth import ApiScope
    from porchlight.accounts.services import accounts, signin, tokens
    from porchlight.accounts.services.commands import RegisterResident
    from porchlight.config import Settings
    from porchlight.footage.services import cameras, library
    from porchlight.footage.services.commands import ReceivedFile, RegisterCamera, UploadClip
    from porchlight.kernel.domain.geo import LatLon
    from porchlight.neighbourhood.services.demo import CENTRE, _offset

    container = bootstrap.build(Settings())
    uow, sec = container.uow(), container.security
    rng = random.Random(19_5)
    officers = []
    for email in ("officer@rpd.demo.porchlight.invalid",
                  "officer@sheriff.demo.porchlight.invalid"):
        with uow.reading():
            officer = uow.accounts.get_by_email(email)
        officers.append(tokens.create_api_token(uow, officer.id, "load bench",
                                                [ApiScope.READ, ApiScope.WRITE]).token)
    body = clip.read_bytes()
    work = out.parent / "populate"
    work.mkdir(exist_ok=True)
    clusters, residents = [], []
    for c in range(CLUSTERS):
        angle, distance = 2 * math.pi * c / CLUSTERS, 3000 + 100 * (c % 20)
        centre = _offset(CENTRE, distance * math.cos(angle), distance * math.sin(angle))
        clusters.append((centre.lat, centre.lon))
        for h in range(PER_CLUSTER):
            home = _offset(centre, rng.uniform(-30, 30), rng.uniform(-30, 30))
            email = f"load{c:02d}-{h}@bench.porchlight.invalid"
            resident_id = accounts.register_resident(
                uow, RegisterResident(email, f"Bench {c}-{h}", home, PASSWORD), sec.passwords)
            with uow:
                account = uow.accounts.get(resident_id)
                account.email_verified_at = uow.clock.now()
                uow.commit()
            with uow.reading():
                owner = uow.accounts.get(resident_id)
            camera_id = cameras.register_camera(uow, owner, RegisterCamera(
                "Front door", LatLon(home.lat, home.lon), opted_in=True))
            device = tokens.rotate_device_token(uow, owner, camera_id).token
            api = tokens.create_api_token(uow, resident_id, "load bench",
                                          [ApiScope.READ, ApiScope.WRITE]).token
            clips = []
            for n in range(CLIPS_EACH):
                path = work / f"{c}-{h}-{n}.mp4"
                path.write_bytes(body + struct.pack(">I", 24) + b"free" + secrets.token_bytes(16))
                recorded = uow.clock.now() - timedelta(minutes=20 + 15 * n, seconds=h)
                clips.append(str(library.upload_clip(uow, container.footage, camera_id, UploadClip(
                    camera_id, recorded, ReceivedFile(path, path.stat().st_size))).clip_id))
                path.unlink()
            session = signin.sign_in(uow, sec, email, PASSWORD)
            residents.append({"email": email, "camera": str(camera_id), "device_token": device,
                              "api_token": api, "session": session.token, "clips": clips})
    container.close()
    out.write_text(json.dumps({"clip": str(clip), "clusters": clusters, "residents": residents,
                               "officers": officers}))


# ---- processes and their CPU --------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return int(fields[1]), ticks / CLK_TCK


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def cpu_by_role(roots: dict[int, str]) -> dict[str, float]:
    """CPU seconds so far of each root's process tree, by role; video sandbox processes
    (the zygote and what it forks) under "video" whoever started them."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))):
            stats[int(entry.name)] = found
    totals: dict[str, float] = {}
    for pid, (_, cpu) in stats.items():
        role, walk = None, pid
        for _ in range(64):
            if walk in roots:
                role = roots[walk]
                break
            parent = stats.get(walk)
            if parent is None or parent[0] <= 1:
                break
            walk = parent[0]
        if role is None:
            continue
        if role != "locust" and "footage.adapters.video" in _cmdline(pid):
            role = "video"
        totals[role] = totals.get(role, 0.0) + cpu
    return totals


def _minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in set(after) | set(before)}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- a deployment ------------------------------------------------------------------------


@dataclass
class Config:
    name: str
    env: dict[str, str]
    web_processes: int
    worker_processes: int
    db_url: str | None = None
    redis_url: str | None = None


@dataclass
class Deployment:
    config: Config
    folder: Path
    base_url: str
    population: Path
    roots: dict[int, str] = field(default_factory=dict)
    engine: object = None

    def cpu(self, extra: dict[int, str] | None = None) -> dict[str, float]:
        return cpu_by_role({**self.roots, **(extra or {})})

    def scalar(self, sql: str) -> object:
        from sqlalchemy import text

        with self.engine.connect() as connection:  # type: ignore[attr-defined]
            return connection.execute(text(sql)).scalar()

    def audit_backlog(self) -> tuple[int, float | None]:
        last = "COALESCE((SELECT MAX(event_id) FROM audit_leaves), 0)"
        waiting = int(self.scalar(f"SELECT COUNT(*) FROM audit_events WHERE id > {last}") or 0)
        oldest = self.scalar(f"SELECT MIN(occurred_at) FROM audit_events WHERE id > {last}")
        if oldest is None:
            return waiting, None
        if isinstance(oldest, str):
            oldest = datetime.fromisoformat(oldest)
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        return waiting, (datetime.now(UTC) - oldest).total_seconds()

    def jobs_waiting(self) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('pending', 'running') "
                               "AND kind != 'audit.sequence'") or 0)

    def drain(self, timeout: float = 120.0) -> float:
        """Wait until every job but the audit minute's sequencing has finished."""
        started = time.monotonic()
        while self.jobs_waiting() and time.monotonic() - started < timeout:
            time.sleep(0.2)
        return time.monotonic() - started


def porchlight(env: dict[str, str], *args: str, log: Path) -> None:
    command = [sys.executable, "-c", "from porchlight.entrypoints.cli import app; app()", *args]
    with log.open("ab") as out:
        subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=True,
                       cwd=log.parent)


def start(env: dict[str, str], args: list[str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "-c", "from porchlight.entrypoints.cli import app; app()", *args]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=log.parent, start_new_session=True)


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()[-3000:]}")
        with suppress(OSError), urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /healthz:\n{log.read_text()[-3000:]}")


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def base_env(folder: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCHLIGHT_")}
    env.update({"PORCHLIGHT_ENV": "development", "PORCHLIGHT_DATA_DIR": str(folder / "var"),
                "PORCHLIGHT_BASE_URL": f"http://127.0.0.1:{port}",
                "PORCHLIGHT_MAP__TILE_URL": "",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                            env.get("PYTHONPATH")]))})
    return env


@contextmanager
def deployment(config: Config, folder: Path, clip: Path) -> Iterator[Deployment]:
    from sqlalchemy import create_engine

    folder.mkdir(parents=True)
    port = int(config.env["PORCHLIGHT_BASE_URL"].rsplit(":", 1)[1])
    log = folder / "setup.log"
    t0 = time.monotonic()
    porchlight(config.env, "db", "upgrade", log=log)
    porchlight(config.env, "demo", "seed", "--no-clips", log=log)
    population = folder / "population.json"
    with log.open("ab") as out:
        subprocess.run([sys.executable, __file__, "--populate", str(population),
                        "--clip", str(clip)], env=config.env, stdout=out,
                       stderr=subprocess.STDOUT, check=True, cwd=folder)
    print(f"  set up in {time.monotonic() - t0:.0f} s", flush=True)
    procs: list[subprocess.Popen] = []
    url = config.db_url or f"sqlite:///{folder / 'var' / 'porchlight.db'}"
    engine = create_engine(url)
    try:
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        if config.web_processes > 1:
            serve += ["--workers", str(config.web_processes)]
        web_log = folder / "serve.log"
        server = start(config.env, serve, web_log)
        procs.append(server)
        for n in range(config.worker_processes):
            procs.append(start(config.env, ["worker"], folder / f"worker-{n}.log"))
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, server, web_log)
        roots = {server.pid: "web", **{p.pid: "worker" for p in procs[1:]}}
        yield Deployment(config, folder, base, population, roots, engine)
    finally:
        stop(procs)
        engine.dispose()
        if config.redis_url:
            import redis

            client = redis.Redis.from_url(config.redis_url)
            name = config.env["PORCHLIGHT_JOBS__QUEUE_NAME"]  # huey drops the dash in some keys
            for pattern in (f"*{name}*", f"*{name.replace('-', '')}*"):
                for key in client.scan_iter(pattern):
                    client.delete(key)


# ---- steps ---------------------------------------------------------------------------------


@dataclass
class Step:
    label: str
    offered: float
    seconds: float
    figures: dict
    cpu: dict[str, float]
    load: str
    backlog: tuple[int, float | None] = (0, None)
    jobs: int = 0
    cpu_until_drained: dict[str, float] | None = None
    drained_seconds: float = 0.0

    @property
    def requests(self) -> int:
        return self.figures["total"]["requests"]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def failures(self) -> int:
        return self.figures["total"]["failures"]

    @property
    def p95(self) -> float:
        return self.figures["total"]["p95_ms"]

    @property
    def passed(self) -> bool:
        return self.failures == 0 and self.p95 < P95_LIMIT_MS and self.requests > 0

    def server_cpu(self, cpu: dict[str, float] | None = None) -> float:
        return sum(v for k, v in (cpu or self.cpu).items() if k != "locust")


def plan_for(rates: dict[str, float]) -> dict[str, dict[str, float]]:
    classes = {}
    for name, rate in rates.items():
        if rate <= 0:
            continue
        users = max(1, math.ceil(rate / PER_USER[name]))
        users = min(users, CAP.get(name, users))
        classes[name] = {"users": users, "rate": rate / users}
    return classes


def run_locust(d: Deployment, rates: dict[str, float], warmup: float, seconds: float,
               label: str, drain: bool = False) -> Step:
    classes = plan_for(rates)
    out = d.folder / f"step-{label.replace(' ', '_').replace('/', '-')}.json"
    plan = {"population": str(d.population), "classes": classes, "warmup": warmup,
            "duration": seconds, "out": str(out)}
    env = {**os.environ, "BENCH_PLAN": json.dumps(plan)}
    users = sum(c["users"] for c in classes.values())
    command = [str(Path(sys.executable).with_name("locust")), "-f", str(LOCUSTFILE),
               "--headless", "-u", str(users), "-r", str(max(users, 1)), "--host", d.base_url,
               "--run-time", f"{int(warmup + seconds + 30)}s", "--only-summary",
               "--loglevel", "WARNING", *classes]
    log = d.folder / "locust.log"
    with log.open("ab") as handle:
        proc = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    me = {proc.pid: "locust"}
    marker = out.with_suffix(".start")
    try:
        while not marker.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"locust exited early:\n{log.read_text()[-3000:]}")
            time.sleep(0.02)
        before, t0 = d.cpu(me), time.monotonic()
        while not out.exists():
            if proc.poll() is not None and not out.exists():
                raise RuntimeError(f"locust exited early:\n{log.read_text()[-3000:]}")
            time.sleep(0.02)
        after = d.cpu(me)
        figures = json.loads(out.read_text())
        load, backlog, jobs = load_average(), d.audit_backlog(), d.jobs_waiting()
        step = Step(label, sum(rates.values()), figures["seconds"], figures,
                    _minus(after, before), load, backlog, jobs)
    finally:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if drain:
        waited = d.drain()
        step.cpu_until_drained = _minus(d.cpu(), before)
        step.drained_seconds = time.monotonic() - t0
        del waited
    return step


@dataclass
class Result:
    config: Config
    idle: dict[str, float]
    idle_seconds: float
    kinds: dict[str, Step]
    ladder: list[Step]
    load_at_start: str

    def baseline(self) -> float:
        return sum(self.idle.values()) / self.idle_seconds

    def cpu_per_request(self, name: str) -> float:
        step = self.kinds[name]
        spent = step.server_cpu(step.cpu_until_drained) - self.baseline() * step.drained_seconds
        return spent / max(1, step.requests)

    def best(self) -> Step | None:
        passed = [s for s in self.ladder if s.passed]
        return max(passed, key=lambda s: s.rps) if passed else None

    def upload_share(self) -> float:
        weighted = {n: MIX[n] * self.cpu_per_request(n) for n in MIX}
        return weighted["Device"] / sum(weighted.values())


def measure(d: Deployment, args: argparse.Namespace) -> Result:
    load_at_start = load_average()
    time.sleep(3)
    before, t0 = d.cpu(), time.monotonic()
    time.sleep(args.idle_seconds)
    idle, idle_seconds = _minus(d.cpu(), before), time.monotonic() - t0
    print(f"  idle: {sum(idle.values()) / idle_seconds:.3f} CPU-s/s (load {load_average()})",
          flush=True)
    kinds = {}
    for name in ("Anonymous", "Resident", "Device", "Officer", "Answerer"):
        rate = args.kind_rates[name]
        step = run_locust(d, {name: rate}, 3, args.kind_seconds, f"kind {name}", drain=True)
        kinds[name] = step
        print(f"  {KINDS[name]} alone at {rate:g}/s: {step.rps:.1f} req/s, "
              f"p95 {step.p95:.0f} ms, {step.failures} failures, "
              f"drained after {step.drained_seconds:.0f} s (load {step.load})", flush=True)
    ladder: list[Step] = []
    misses = 0
    for rate in args.ladder:
        step = run_locust(d, {n: rate * s for n, s in MIX.items()}, args.warmup,
                          args.step_seconds, f"mix {rate:g}")
        ladder.append(step)
        print(f"  mix offered {rate:g}/s: {step.rps:.1f} req/s, p50 "
              f"{step.figures['total']['p50_ms']:.0f} ms, p95 {step.p95:.0f} ms, "
              f"{step.failures} failures, server CPU {step.server_cpu() / step.seconds:.2f}/s,"
              f" audit backlog {step.backlog[0]} (load {step.load})", flush=True)
        if step.failures:
            for error in step.figures["errors"][:5]:
                print(f"    {error}", flush=True)
        misses += not step.passed
        if misses >= 2:
            break
    return Result(d.config, idle, idle_seconds, kinds, ladder, load_at_start)


# ---- the report ----------------------------------------------------------------------------


def _age(backlog: tuple[int, float | None]) -> str:
    waiting, age = backlog
    return f"{waiting} ({age:.0f} s)" if age is not None else "0"


def report_config(r: Result) -> list[str]:
    c = r.config
    lines = [f"### {c.name}", "",
             f"Load average when it started: {r.load_at_start}. Idle CPU (pollers, sweeps): "
             f"{r.baseline():.3f} s/s.", "",
             "**Ladder** (the whole mix; a step passes with p95 < 500 ms and no failed "
             "request; CPU is seconds per second of wall time):", "",
             "| offered req/s | served req/s | failures | p50 | p95 | web CPU | worker CPU | "
             "video sandbox CPU | server CPU per request | locust CPU | load average (1/5/15 "
             "min) | audit backlog (oldest) | jobs waiting | passed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in r.ladder:
        t = s.figures["total"]
        per = lambda role, s=s: s.cpu.get(role, 0.0) / s.seconds  # noqa: E731
        lines.append(
            f"| {s.offered:g} | {s.rps:.1f} | {s.failures} | {t['p50_ms']:.0f} ms | "
            f"{t['p95_ms']:.0f} ms | {per('web'):.2f} | {per('worker'):.2f} | "
            f"{per('video'):.2f} | {1000 * s.server_cpu() / max(1, s.requests):.1f} ms | "
            f"{per('locust'):.2f} | {s.load} | {_age(s.backlog)} | {s.jobs} | "
            f"{'yes' if s.passed else 'no'} |")
    best = r.best()
    lines += [""]
    if best:
        lines += [f"Highest rate served with p95 < 500 ms and no errors: **{best.rps:.1f} "
                  f"requests/s** ({best.rps / TODAY_RPS:.2f}x today's ~45 requests/s).", ""]
    else:
        lines += ["No step passed.", ""]
    shown = [s for s in (best, next((s for s in r.ladder if not s.passed), None)) if s]
    for step in shown:
        why = "passed" if step.passed else "the first step that did not pass"
        lines += [f"Per request name at {step.label} ({why}):", "",
                  "| request | count | failures | p50 | p95 |", "|---|---|---|---|---|"]
        for name, e in sorted(step.figures["by_name"].items()):
            lines.append(f"| {name} | {e['requests']} | {e['failures']} | "
                         f"{e['p50_ms']:.0f} ms | {e['p95_ms']:.0f} ms |")
        lines.append("")
        for error in step.figures["errors"][:5]:
            lines.append(f"- error: {error['name']}: {error['error']} x{error['occurrences']}")
    lines += ["", "**CPU per request of each kind** (that kind alone, at a fixed rate; the "
              "server's CPU, jobs and video sandbox included, until its jobs finished, less "
              "the idle baseline):", "",
              "| kind | rate | requests | p95 | failures | CPU per request | share of the "
              "mix's CPU | load average |", "|---|---|---|---|---|---|---|---|"]
    weighted = {n: MIX[n] * r.cpu_per_request(n) for n in MIX}
    total = sum(weighted.values())
    for name, step in r.kinds.items():
        lines.append(f"| {KINDS[name]} ({MIX[name]:.0%} of the mix) | {step.offered:g}/s | "
                     f"{step.requests} | {step.p95:.0f} ms | {step.failures} | "
                     f"{1000 * r.cpu_per_request(name):.1f} ms | "
                     f"{weighted[name] / total:.0%} | {step.load} |")
    lines += ["", f"Weighted by the mix: {1000 * total:.1f} ms of server CPU per request, "
              f"i.e. at most {2 / total:.0f} requests/s on two cores if nothing else ran. "
              f"Uploads take **{r.upload_share():.0%}** of the mix's CPU "
              f"({'under' if r.upload_share() < 0.5 else 'not under'} half).", ""]
    return lines


def report(args: argparse.Namespace, results: list[Result], notes: list[str]) -> list[str]:
    command = ".venv/bin/python " + shlex.join(["bench/load_bench.py", *sys.argv[1:]])
    lines = [*machine_lines(), "", "```sh", command, "```", "",
             "Method: see the docstring of `bench/load_bench.py`. Mix (share of requests): "
             "anonymous pages 30% (`/` 15, `/audit` 10, `/agencies` 5), signed-in residents "
             "50% (`/clips` 20, `/inbox` 15, a clip's first 256 KiB 15), device uploads of a "
             "0.8 MB 720p clip 10%, officers creating a request (reaches 5 homes) 1%, "
             "residents answering 9% (inbox, disclosure, consent or decline). "
             f"Steps: {args.warmup:g} s warm-up, {args.step_seconds:g} s measured; each kind "
             f"alone {args.kind_seconds:g} s. The load generator runs on the same two cores "
             "(its CPU is the locust column), so capacity is a floor.", ""]
    for result in results:
        lines += report_config(result)
    summary = []
    for result in results:
        best = result.best()
        got = f"{best.rps:.1f} req/s ({best.rps / TODAY_RPS:.2f}x)" if best else "no step passed"
        summary.append(f"- {result.config.name}: {got}; uploads {result.upload_share():.0%} of "
                       "the mix's CPU.")
    lines += ["Goals: at least twice today's ~45 requests/s (90) and uploads under half the "
              "CPU at the mix.", "", *summary]
    return lines + ([""] + [f"- {n}" for n in notes] if notes else [])


# ---- main ------------------------------------------------------------------------------------


def configs(args: argparse.Namespace, stack: ExitStack, notes: list[str],
            folder: Path) -> list[Config]:
    found = []
    if "embedded" in args.configs:
        port = free_port()
        found.append(Config("embedded default (SQLite, huey on SQLite, one `serve` process "
                            "running the jobs and the sequencer in its threads)",
                            base_env(folder / "embedded", port), 1, 0))
    if "server" in args.configs:
        if not (args.postgres_url and args.redis_url):
            notes.append("server configuration not measured: pass --postgres-url and "
                         "--redis-url (or set PORCHLIGHT_TEST_POSTGRES_URL and "
                         "PORCHLIGHT_TEST_REDIS_URL)")
        else:
            url = stack.enter_context(scratch_postgres(args.postgres_url, "porchlight_load_bench"))
            port = free_port()
            env = base_env(folder / "server", port)
            env.update({"PORCHLIGHT_DATABASE__URL": url, "PORCHLIGHT_JOBS__BACKEND": "redis",
                        "PORCHLIGHT_REDIS_URL": args.redis_url,
                        "PORCHLIGHT_JOBS__QUEUE_NAME": f"load-{uuid.uuid4().hex[:10]}",
                        "PORCHLIGHT_JOBS__IN_PROCESS": "false",
                        "PORCHLIGHT_AUDIT__SEQUENCE_IN_PROCESS": "false"})
            found.append(Config(
                f"server (PostgreSQL, huey on Redis, `serve --workers {args.web_processes}`, "
                f"{args.worker_processes} `porchlight worker` processes)", env,
                args.web_processes, args.worker_processes, url, args.redis_url))
    return found


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["embedded", "server"],
                        choices=["embedded", "server"])
    parser.add_argument("--ladder", type=float, nargs="+",
                        default=[40, 60, 80, 90, 100, 110, 120, 140, 160, 180],
                        help="offered requests/s of the mix, in order")
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--kind-seconds", type=float, default=15.0)
    parser.add_argument("--idle-seconds", type=float, default=8.0)
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument("--postgres-url", default=os.environ.get("PORCHLIGHT_TEST_POSTGRES_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("PORCHLIGHT_TEST_REDIS_URL"))
    parser.add_argument("--results", type=Path, help="write the section into this RESULTS.md")
    parser.add_argument("--populate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--clip", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.kind_rates = {"Anonymous": 20, "Resident": 20, "Device": 4, "Officer": 1,
                       "Answerer": 10}
    return args


def main(argv: list[str]) -> None:
    args = parse(argv)
    if args.populate:
        populate(args.populate, args.clip)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop servers, drop the scratch
    clip = make_clip()
    notes: list[str] = []
    results = []
    with tempfile.TemporaryDirectory(prefix="load-bench-") as scratch, ExitStack() as stack:
        for config in configs(args, stack, notes, Path(scratch)):
            print(f"{config.name}", flush=True)
            folder = Path(config.env["PORCHLIGHT_DATA_DIR"]).parent
            with deployment(config, folder, clip) as d:
                results.append(measure(d, args))
    lines = report(args, results, notes)
    print("\n".join(lines))
    if args.results:  # every run keeps its own section: the record is every run, not the best
        stamp = datetime.now(UTC)
        replace_section(args.results, f"load-{stamp:%Y%m%d-%H%M}",
                        f"Load (issue 19 item 5), run of {stamp:%Y-%m-%d %H:%M} UTC", lines)


if __name__ == "__main__":
    main(sys.argv[1:])
