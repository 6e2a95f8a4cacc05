"""Another deployment's public audit API as a source for ``audit verify --url``.

Nothing the server says is trusted: the verifier checks every answer against checkpoints
signed by the key the user gave.  This adapter only turns HTTP and JSON into the shapes
the verifier reads, and HTTP failures into AuditSourceError.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import httpx

from porchlight.audit.domain import parse_size_response
from porchlight.audit.services.ports import (
    AuditSourceError,
    LeafData,
    LeafRow,
    StoredCheckpoint,
    WitnessConflict,
    WitnessRefused,
    WitnessUnavailable,
)

API = "/api/v1/audit"


def _b64(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise AuditSourceError(f"the server sent a {what} that is not base64") from exc


class HttpAuditLogSource:
    """Implements AuditLogSource over ``GET /api/v1/audit/...`` of a Porchlight deployment."""

    def __init__(
        self, base_url: str, *, client: httpx.Client | None = None, page_size: int = 1000
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=60.0)
        self.page_size = page_size

    def _get(self, path: str, **params: int) -> dict[str, Any]:
        try:
            response = self.client.get(f"{self.base_url}{API}/{path}", params=params)
        except httpx.HTTPError as exc:
            raise AuditSourceError(f"cannot reach {self.base_url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            raise AuditSourceError(f"{path}: HTTP {response.status_code}: {_message(body)}")
        return body

    def size(self) -> int:
        return int(self._get("entries", start=0, end=1)["tree_size"])

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        after = 0
        while page := self._get("checkpoints", after=after, limit=1000)["checkpoints"]:
            for item in page:
                yield StoredCheckpoint(
                    int(item["size"]), _b64(item["root"], "root"), str(item["note"]),
                    str(item["verifier_key"]), datetime.fromisoformat(item["signed_at"]),
                )
            after = int(page[-1]["size"])

    def leaf_chunks(self, start: int, end: int) -> Iterator[Sequence[LeafRow]]:
        while start < end:
            limit = min(end, start + self.page_size)
            entries = self._get("entries", start=start, end=limit)["entries"]
            if not entries:
                return
            yield [_leaf(item) for item in entries]
            start += len(entries)

    def leaf_data(self, start: int, end: int) -> Iterator[Sequence[LeafData]]:
        for rows in self.leaf_chunks(start, end):
            yield [(row[2], row[3]) for row in rows]

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        body = self._get("proofs/consistency", first=size1, second=size2)
        return [_b64(value, "proof hash") for value in body["proof"]]

    def latest_note(self) -> str | None:
        """The newest signed checkpoint's note, cosignatures appended (None: none yet)."""
        checkpoint = self._get("checkpoint").get("checkpoint")
        return str(checkpoint["note"]) if isinstance(checkpoint, dict) else None

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        body = self._get("proofs/inclusion", index=index, size=size)
        return [_b64(value, "proof hash") for value in body["proof"]]

    def close(self) -> None:
        self.client.close()


def _leaf(item: dict[str, Any]) -> LeafRow:
    event_id = item.get("event_id")
    return (
        int(item["index"]),
        None if event_id is None else int(event_id),
        _b64(item["data"], "leaf"),
        _b64(item["leaf_hash"], "leaf hash"),
    )


def _message(body: object) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", "error"))
    return "unexpected answer"


class HttpWitnessClient:
    """Implements WitnessClient: C2SP tlog-witness ``POST <url>/add-checkpoint``."""

    def __init__(self, url: str, *, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/") + "/add-checkpoint"
        self.client = client or httpx.Client(timeout=30.0)

    def add_checkpoint(self, body: bytes) -> str:
        try:
            response = self.client.post(self.url, content=body,
                                        headers={"Content-Type": "text/plain; charset=utf-8"})
        except httpx.HTTPError as exc:
            raise WitnessUnavailable(f"cannot reach {self.url}: {exc}") from exc
        if response.status_code == 200:
            return response.text
        kind = response.headers.get("content-type", "")
        if response.status_code == 409 and kind == "text/x.tlog.size":
            try:
                raise WitnessConflict(parse_size_response(response.content))
            except ValueError as exc:
                raise WitnessUnavailable(str(exc)) from exc
        if response.status_code in (400, 403, 404, 409, 422):
            raise WitnessRefused(response.status_code, response.text.strip()[:200])
        raise WitnessUnavailable(f"{self.url}: HTTP {response.status_code}")

    def close(self) -> None:
        self.client.close()
