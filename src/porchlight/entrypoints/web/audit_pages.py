"""The public "Audit log" page: the latest checkpoint, the key, how to check, the latest entries."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from porchlight.audit.services import queries as audit_queries
from porchlight.entrypoints.web.render import render

router = APIRouter(include_in_schema=False)
LATEST = 20


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request) -> HTMLResponse:
    container = request.app.state.container
    store = container.audit_store()
    checkpoint, size = audit_queries.log_state(store)
    latest = audit_queries.entries(store, max(0, size - LATEST), size).entries if size else []
    rows = [(index, event_id, leaf_hash.hex(), audit_queries.parse_leaf(data) or {})
            for index, event_id, data, leaf_hash in reversed(latest)]
    return render(
        request, "audit.html",
        checkpoint=checkpoint,
        parsed=audit_queries.parse_note(checkpoint.note) if checkpoint else None,
        size=size,
        entries=rows,
        base_url=container.settings.base_url.rstrip("/"),
    )
