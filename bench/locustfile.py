"""The simulated people of the load benchmark (bench/load_bench.py drives it; locust, headless).

Five kinds of caller, one user class each; every task is exactly one HTTP request, so a
class's task rate is its request rate:

- Anonymous: `/` (the neighbourhood in totals), `/audit`, `/agencies`;
- Resident: a signed-in resident (a session cookie opened by the driver through the
  sign-in use case, so no argon2 per simulated user here) reading `/clips`, `/inbox`
  and playing one of their clips (the first range a player asks for, `bytes=0-262143`);
- Device: a camera uploading a ~0.8 MB H.264 clip with its device token; each upload's
  bytes are unique (a random top-level `free` box appended, which every MP4 reader skips)
  and so is its `recorded_at`, so none is taken for a retry of an earlier one;
- Officer: an officer's API token creating a video request (1 h window ending 5 minutes
  ago, 100 m) around one of the population's clusters of homes, which goes out on the
  officer's word (a `request.deliver` job, then a mail job per resident reached);
- Answerer: a resident's API token working through their inbox one request at a time:
  list the inbox; read the disclosure of a waiting delivery; consent with one clip or
  decline (half each).

The driver passes everything in BENCH_PLAN (JSON): the population file, each class's user
count and per-user rate, the warm-up and measured seconds, and where to write the stats.
After the warm-up the stats are reset and the file `<out>.start` is written (the driver
reads the processes' CPU then); after the measured time the stats are written to `<out>`
(JSON) and locust quits.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import struct
import time
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import gevent
from locust import FastHttpUser, events, task

PLAN = json.loads(os.environ.get("BENCH_PLAN", "{}"))
POP = json.loads(Path(PLAN["population"]).read_text()) if PLAN else {}
CLIP = Path(POP["clip"]).read_bytes() if POP else b""
RNG = random.Random()
_serial = count()


def _rate(name: str) -> float:
    return float(PLAN.get("classes", {}).get(name, {}).get("rate", 1.0))


def _users(name: str) -> int:
    return int(PLAN.get("classes", {}).get(name, {}).get("users", 0))


def poisson_arrivals(rate: float):
    """Each user's requests as a Poisson process of `rate` per second: exponential gaps
    between scheduled arrivals, each user starting at a random point, so independent users
    add up to Poisson traffic (as independent people do) instead of firing in lockstep.
    A request that overruns its gap delays the next one (one request in flight per user)."""

    def wait_time(user) -> float:
        now = time.monotonic()
        scheduled = getattr(user, "_next_arrival", None)
        if scheduled is None:
            scheduled = now + RNG.uniform(0, 1 / rate)
        else:
            scheduled = max(scheduled + RNG.expovariate(rate), now)
        user._next_arrival = scheduled
        return scheduled - now

    return wait_time


def unique_clip() -> bytes:
    """The clip with a top-level `free` box of random bytes after it: same video, new SHA-256."""
    filler = secrets.token_bytes(16)
    return CLIP + struct.pack(">I", 8 + len(filler)) + b"free" + filler


class Anonymous(FastHttpUser):
    fixed_count = _users("Anonymous")
    wait_time = poisson_arrivals(_rate("Anonymous"))

    @task(3)
    def home(self) -> None:
        self.client.get("/", name="anon /")

    @task(2)
    def audit(self) -> None:
        self.client.get("/audit", name="anon /audit")

    @task(1)
    def agencies(self) -> None:
        self.client.get("/agencies", name="anon /agencies")


class Resident(FastHttpUser):
    fixed_count = _users("Resident")
    wait_time = poisson_arrivals(_rate("Resident"))

    def on_start(self) -> None:
        people = POP["residents"]
        self.me = people[next(_serial) % len(people)]
        self.cookie = {"Cookie": f"pl_session={self.me['session']}"}

    @task(4)
    def clips(self) -> None:
        self.client.get("/clips", name="resident /clips", headers=self.cookie)

    @task(3)
    def inbox(self) -> None:
        self.client.get("/inbox", name="resident /inbox", headers=self.cookie)

    @task(3)
    def play(self) -> None:
        clip = RNG.choice(self.me["clips"])
        self.client.get(f"/clips/{clip}/video", name="resident play (first range)",
                        headers={**self.cookie, "Range": "bytes=0-262143"})


class Device(FastHttpUser):
    fixed_count = _users("Device")
    wait_time = poisson_arrivals(_rate("Device"))

    def on_start(self) -> None:
        people = POP["residents"]
        self.me = people[next(_serial) % len(people)]

    @task
    def upload(self) -> None:
        # unique to the microsecond and the user: a camera never records two clips at once
        recorded = datetime.now(UTC) - timedelta(minutes=RNG.uniform(10, 55))
        self.client.post(
            f"/api/v1/cameras/{self.me['camera']}/clips",
            params={"recorded_at": recorded.isoformat()}, data=unique_clip(),
            headers={"Authorization": f"Bearer {self.me['device_token']}",
                     "Content-Type": "video/mp4"}, name="device upload")


class Officer(FastHttpUser):
    fixed_count = _users("Officer")
    wait_time = poisson_arrivals(_rate("Officer"))

    def on_start(self) -> None:
        self.token = POP["officers"][next(_serial) % len(POP["officers"])]

    @task
    def create_request(self) -> None:
        lat, lon = RNG.choice(POP["clusters"])
        end = datetime.now(UTC) - timedelta(minutes=5)
        start = end - timedelta(hours=1)
        body = {"case_number": f"LB-{RNG.randrange(10**6):06d}", "incident_type": "burglary",
                "incident_time": (start + timedelta(minutes=10)).isoformat(),
                "lat": lat, "lon": lon, "radius_m": 100,
                "window_start": start.isoformat(), "window_end": end.isoformat(),
                "description": "A parcel was taken from a porch; looking for a person on foot.",
                "retention_days": 90, "contact": "Det. Bench, 555-0100"}
        self.client.post("/api/v1/requests", json=body, name="officer create request",
                         headers={"Authorization": f"Bearer {self.token}"})


class Answerer(FastHttpUser):
    """One resident each (answers would race otherwise): list, read, answer, one per task."""

    fixed_count = _users("Answerer")
    wait_time = poisson_arrivals(_rate("Answerer"))

    def on_start(self) -> None:
        people = POP["residents"]
        self.me = people[next(_serial) % len(people)]
        self.auth = {"Authorization": f"Bearer {self.me['api_token']}"}
        self.waiting: str | None = None
        self.shown: dict | None = None

    @task
    def step(self) -> None:
        if self.waiting is None:
            with self.client.get("/api/v1/inbox", name="answer inbox", headers=self.auth,
                                 catch_response=True) as got:
                items = got.json() if got.status_code == 200 else []
            waiting = [i["delivery_id"] for i in items if i["status"] == "waiting"
                       and i["request_status"] == "open"]
            self.waiting = RNG.choice(waiting) if waiting else None
        elif self.shown is None:
            got = self.client.get(f"/api/v1/inbox/{self.waiting}", name="answer disclosure",
                                  headers=self.auth)
            self.shown = got.json() if got.status_code == 200 else None
            if self.shown is None:
                self.waiting = None
        else:
            clips = self.shown["disclosure"]["clips"]
            if clips and RNG.random() < 0.5:
                self.client.post(f"/api/v1/inbox/{self.waiting}/consent", headers=self.auth,
                                 name="answer consent", json={
                                     "clips": [clips[0]["id"]], "scope": "this_agency",
                                     "disclosure_sha256": self.shown["disclosure_sha256"]})
            else:
                self.client.post(f"/api/v1/inbox/{self.waiting}/decline", headers=self.auth,
                                 name="answer decline")
            self.waiting = self.shown = None


def _figures(stats) -> dict:
    def one(entry) -> dict:
        return {"requests": entry.num_requests, "failures": entry.num_failures,
                "p50_ms": entry.get_response_time_percentile(0.5) if entry.num_requests else 0,
                "p95_ms": entry.get_response_time_percentile(0.95) if entry.num_requests else 0,
                "mean_ms": entry.avg_response_time}
    errors = [{"name": e.name, "method": e.method, "error": str(e.error)[:300],
               "occurrences": e.occurrences} for e in stats.errors.values()]
    return {"total": one(stats.total),
            "by_name": {name: one(entry) for (name, _), entry in stats.entries.items()},
            "errors": errors}


@events.test_start.add_listener
def _schedule(environment, **_kwargs) -> None:
    if not PLAN:
        return
    out = Path(PLAN["out"])

    def run() -> None:
        gevent.sleep(PLAN["warmup"])
        environment.runner.stats.reset_all()
        started = time.monotonic()
        out.with_suffix(".start").write_text(str(time.time()))
        gevent.sleep(PLAN["duration"])
        figures = _figures(environment.runner.stats)
        figures["seconds"] = time.monotonic() - started
        out.write_text(json.dumps(figures))
        environment.runner.quit()

    gevent.spawn(run)
