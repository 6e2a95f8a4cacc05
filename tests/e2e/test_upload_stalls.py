"""Stalled uploads: a body that stops or trickles is dropped with 408 and leaves nothing.

The app is driven as ASGI with a scripted client (pieces of body, each after a delay), so
a client can stop half-way without the test waiting on a real network; one test runs
uvicorn on a real socket. Timeouts here are short so the suite stays fast.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
import structlog.testing
import uvicorn

from porchlight.config import Settings
from porchlight.footage.adapters.video.demo import make_demo_clip
from tests.e2e.support import Deployment, build_deployment
from tests.e2e.test_clips import leftovers

IDLE = 0.6  # seconds
MIN_RATE = 8000  # bytes a second
WINDOW = 0.5  # seconds


@pytest.fixture(scope="module")
def demo_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_clip(tmp_path_factory.mktemp("clips") / "door.mp4", seconds=3, seed=4)


@pytest.fixture
def d(settings: Settings) -> Deployment:
    storage = settings.storage.model_copy(update={
        "upload_idle_timeout_seconds": IDLE, "upload_min_bytes_per_second": MIN_RATE,
        "upload_min_rate_window_seconds": WINDOW})
    return build_deployment(settings.model_copy(update={"storage": storage}))


@pytest.fixture
def device(d: Deployment) -> str:
    issued = d.signed_in("resident_a").submit(f"/cameras/{d.camera_a}/device-token")
    return re.search(r'data-testid="secret">(pld_[\w-]+)<', issued.text).group(1)


def upload_target(d: Deployment) -> tuple[str, str]:
    recorded = (d.clock.now() - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    return f"/api/v1/cameras/{d.camera_a}/clips", f"recorded_at={recorded}"


class Client:
    """Sends ``pieces`` ((delay in seconds, bytes) each), then ends the body or hangs."""

    def __init__(self, d: Deployment, token: str, pieces: list[tuple[float, bytes]],
                 hang: bool) -> None:
        self.d, self.token, self.pieces, self.hang = d, token, list(pieces), hang
        self.messages: list[dict] = []
        self.temp_while_hanging: list[Path] = []

    def run(self) -> tuple[int, dict[str, str], bytes]:
        anyio.run(self._run)
        start = self.messages[0]
        headers = {k.decode(): v.decode() for k, v in start["headers"]}
        body = b"".join(m.get("body", b"") for m in self.messages[1:])
        return start["status"], headers, body

    async def _run(self) -> None:
        self.responded = anyio.Event()
        path, query = upload_target(self.d)
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query.encode(), "root_path": "", "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80), "state": {},
            "headers": [(b"host", b"testserver"), (b"content-type", b"video/mp4"),
                        (b"authorization", f"Bearer {self.token}".encode())],
        }
        with anyio.fail_after(20):  # a guard against a hang, not a measurement
            await self.d.app(scope, self._receive, self._send)

    async def _receive(self) -> dict:
        if self.pieces:
            delay, body = self.pieces.pop(0)
            await anyio.sleep(delay)
            return {"type": "http.request", "body": body,
                    "more_body": bool(self.pieces) or self.hang}
        if self.hang and not self.responded.is_set():
            self.temp_while_hanging = temp_files(self.d)
        await self.responded.wait()  # as uvicorn does: nothing more until the response
        return {"type": "http.disconnect"}

    async def _send(self, message: dict) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            self.responded.set()


def temp_files(d: Deployment) -> list[Path]:
    return list((d.container.settings.data_dir / "tmp" / "uploads").glob("*"))


def test_a_body_that_stops_half_way_gets_408_and_leaves_nothing(d, device, demo_clip) -> None:
    half = demo_clip.read_bytes()[:20000]
    client = Client(d, device, [(0, half)], hang=True)
    status, headers, body = client.run()
    assert status == 408, body
    assert re.search(rb'"code":"upload_stalled"', body)
    assert headers["connection"] == "close"  # uvicorn closes the connection after it
    assert len(client.temp_while_hanging) == 1  # it was there while the client hung...
    assert leftovers(d) == (0, [], [])  # ...and no row, no object, no temp file after


def test_a_trickle_below_the_minimum_rate_is_dropped(d, device) -> None:
    trickle = [(0.1, b"\0" * 200)] * 40  # 2,000 bytes a second for four seconds
    status, _, body = Client(d, device, trickle, hang=False).run()
    assert status == 408, body
    assert b'"code":"upload_stalled"' in body and b"slower than 8000 bytes" in body
    assert leftovers(d) == (0, [], [])


def test_a_slow_start_and_pauses_at_a_fine_rate_are_not_dropped(d, device, demo_clip) -> None:
    data = demo_clip.read_bytes()
    rest = data[100:]
    quarter = -(-len(rest) // 4)
    # 100 bytes after 0.3 s (200 bytes a second so far), then four pieces 0.25 s apart:
    # every pause is under the idle timeout, all of them together are over it.
    pieces = [(0.3, data[:100])] + [(0.25, rest[i:i + quarter])
                                    for i in range(0, len(rest), quarter)]
    status, _, body = Client(d, device, pieces, hang=False).run()
    assert status == 201, body
    rows, objects, temp = leftovers(d)
    assert rows == 1 and len(objects) == 2 and temp == []


def test_the_upload_route_documents_its_errors(d) -> None:
    spec = d.browser().get("/api/v1/openapi.json").json()
    responses = spec["paths"]["/api/v1/cameras/{camera_id}/clips"]["post"]["responses"]
    assert {"201", "401", "408", "413", "415", "422"} <= set(responses)
    assert "upload_stalled" in responses["408"]["description"]


@pytest.fixture
def served(d: Deployment) -> Iterator[int]:
    """uvicorn (as `porchlight serve` runs it) on a socket bound to a free port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(d.app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def test_a_real_connection_that_stalls_gets_408_and_is_closed(d, device, served) -> None:
    path, query = upload_target(d)
    head = (f"POST {path}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {device}\r\nContent-Type: video/mp4\r\n"
            f"Content-Length: 100000\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", served), timeout=0.2) as conn:
        conn.sendall(head + b"\0" * 1000)  # then nothing: the camera "hangs"
        received, closed = read_until_closed(conn)
    assert received.startswith(b"HTTP/1.1 408 "), received[:200]
    assert b"upload_stalled" in received
    assert closed, "the server kept the connection open after its answer"
    assert leftovers(d) == (0, [], [])


def read_until_closed(conn: socket.socket, *, keep_sending: bool = True
                      ) -> tuple[bytes, bool]:
    """Everything the server sends until it closes (or a 15 s guard); with
    ``keep_sending``, once it has answered, keep sending body bytes, as a trickling client
    would (they must not keep the connection open)."""
    received = b""
    deadline = time.monotonic() + 15  # a guard against a hang, not a measurement
    while time.monotonic() < deadline:
        try:
            if keep_sending and b"\r\n\r\n" in received:
                conn.sendall(b"\0")
            data = conn.recv(65536)
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return received, True
        if not data:
            return received, True
        received += data
    return received, False


@pytest.mark.parametrize("route", ["/signin", "/api/v1/requests"])
def test_a_stalled_body_on_any_route_gets_408_and_is_closed(d, served, route) -> None:
    """Not only uploads: half a sign-in form, then nothing, must not hold a connection."""
    head = (f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 5000\r\n\r\n").encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", served), timeout=0.2) as conn:
        conn.sendall(head + b"email=someone%40example.org&pass")
        received, closed = read_until_closed(conn, keep_sending=False)
    assert received.startswith(b"HTTP/1.1 408 "), received[:200]
    assert b"body_stalled" in received and closed
    assert time.monotonic() - started < 10  # a guard: the idle timeout here is under 2 s


def test_a_client_that_hangs_up_half_way_is_an_abort_not_a_server_error(
    d, device, served
) -> None:
    """A camera losing its link mid-upload: logged as a 499 and an abort, not an error
    with a traceback, and what it had sent is gone."""
    path, query = upload_target(d)
    head = (f"POST {path}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {device}\r\nContent-Type: video/mp4\r\n"
            f"Content-Length: 100000\r\n\r\n").encode()
    with structlog.testing.capture_logs() as logs:
        with socket.create_connection(("127.0.0.1", served), timeout=2) as conn:
            conn.sendall(head + b"\0" * 30000)
            deadline = time.monotonic() + 10
            while not temp_files(d) and time.monotonic() < deadline:
                time.sleep(0.02)  # the server is writing the body to its temp file
            assert temp_files(d), "the upload never started"
        # the socket is closed: the server sees the disconnect
        deadline = time.monotonic() + 10
        while not any(e.get("status") == 499 for e in logs) and time.monotonic() < deadline:
            time.sleep(0.05)
    [logged] = [e for e in logs if e.get("event") == "request" and e["method"] == "POST"]
    assert logged["status"] == 499 and logged["route"] == "/api/v1/cameras/{camera_id}/clips"
    assert [e["log_level"] for e in logs if "aborted" in e["event"] or "closed" in e["event"]
            ] == ["info"]
    assert not [e for e in logs if e["log_level"] in ("error", "critical", "exception")]
    assert leftovers(d) == (0, [], [])
