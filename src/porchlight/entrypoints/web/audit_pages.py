"""The public "Audit log" page: the latest checkpoint, the key, how to check, the latest entries."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from porchlight.audit.services import openings as audit_openings
from porchlight.audit.services import queries as audit_queries
from porchlight.entrypoints.deps import ActorDep, ContainerDep
from porchlight.entrypoints.web.render import render

router = APIRouter(include_in_schema=False)
LATEST = 20


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request) -> HTMLResponse:
    container = request.app.state.container
    store = container.audit_store()
    checkpoint, size = audit_queries.log_state(store)
    latest = audit_queries.entries(store, max(0, size - LATEST), size).entries if size else []
    rows = [(index, leaf_hash.hex(), audit_queries.parse_leaf(data) or {})
            for index, _, data, leaf_hash in reversed(latest)]
    return render(
        request, "audit.html",
        checkpoint=checkpoint,
        parsed=audit_queries.parse_note(checkpoint.note) if checkpoint else None,
        size=size,
        entries=rows,
        base_url=container.settings.base_url.rstrip("/"),
    )


@router.get("/account/audit", response_class=HTMLResponse)
def my_audit(request: Request, me: ActorDep, container: ContainerDep) -> HTMLResponse:
    """What the public log holds about you: commitments only you (and oversight) can open."""
    document = container.audit_openings(account_id=me.id)
    checks = {(c.index, c.slot): c for c in audit_openings.check(document, document["verifier_key"])
              } if document["checkpoint"] else {}
    return render(request, "account_audit.html", document=document, checks=checks,
                  entries=list(reversed(document["entries"])),
                  base_url=container.settings.base_url.rstrip("/"))


@router.get("/account/audit.json")
def my_audit_export(me: ActorDep, container: ContainerDep) -> Response:
    document = container.audit_openings(account_id=me.id)
    return Response(json.dumps(document, indent=1), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-audit.json"',
                             "Cache-Control": "no-store"})
