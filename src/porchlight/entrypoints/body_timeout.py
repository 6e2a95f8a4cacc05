"""A request body must keep arriving: every route, not only uploads.

A client that sends headers and part of a body and then nothing would hold a connection
(and a worker's attention) for as long as it likes; a handful of them ties the server
up. Each wait for the next piece of a body is bounded by the upload idle timeout (plus a
second, so the upload route's own, more specific 408 answers first there); a body that
stalls gets ``408 {"error": {"code": "body_stalled"}}`` and the connection is closed.
Only the body is timed: once it is complete, waiting for the client (a video's
disconnect, say) is not a stall. Headers that never finish are a proxy's business (e.g.
nginx ``client_header_timeout``); see the README.
"""

from __future__ import annotations

import json

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTimeoutMiddleware:
    def __init__(self, app: ASGIApp, *, idle_seconds: float) -> None:
        self.app = app
        self.idle = idle_seconds + 1.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"body_done": False, "stalled": False, "answered": False}

        async def timed_receive() -> Message:
            if state["body_done"]:
                return await receive()
            with anyio.move_on_after(self.idle):
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body"):
                    state["body_done"] = True
                return message
            # to the app the client is gone (whatever it then answers is replaced below)
            state["stalled"] = state["body_done"] = True
            return {"type": "http.disconnect"}

        async def answering(message: Message) -> None:
            if not state["stalled"]:
                if message["type"] == "http.response.start":
                    state["answered"] = True
                await send(message)
            elif message["type"] == "http.response.start" and not state["answered"]:
                state["answered"] = True
                await _stalled(send)  # instead of the app's answer to a body that never came

        try:
            await self.app(scope, timed_receive, answering)
        except Exception:
            if not state["stalled"]:
                raise
        if state["stalled"] and not state["answered"]:
            await _stalled(send)


async def _stalled(send: Send) -> None:
    body = json.dumps({"error": {"code": "body_stalled", "message": "the request body "
                                 "stopped arriving; send it again"}}).encode()
    await send({"type": "http.response.start", "status": 408, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
