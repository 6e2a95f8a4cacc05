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
LATEST = 40
SHOWN = 200  # of one's own entries, on the page (the download has them all)
# What a resident's entries mean, in words (anything else shows its code).
WORDS = {
    "account.created": "Your account was created",
    "account.disabled": "Your account was disabled by an administrator",
    "account.locked": "Your account was locked after failed sign-ins",
    "account.unlocked": "Your account was unlocked",
    "api_token.created": "You created an API token",
    "api_token.revoked": "An API token was revoked",
    "camera.registered": "You registered a camera",
    "camera.opted_in": "You opened a camera to requests",
    "camera.opted_out": "You closed a camera to requests",
    "camera.retention_changed": "You changed a camera's retention",
    "clip.uploaded": "A clip of yours was uploaded",
    "clip.viewed": "A clip was played",
    "clip.access_denied": "Someone was refused a clip",
    "clip.key_shredded": "A clip of yours was made unreadable (its key destroyed)",
    "clip.purged": "A clip of yours was deleted",
    "consent.granted": "You shared footage with an agency",
    "consent.revoked": "You took a consent back",
    "consent.deletion_requested": "You asked an agency to delete its copy",
    "consent.contact_disclosed": "An agency read the contact details you shared",
    "delivery.created": "A request reached you",
    "delivery.declined": "You declined a request",
    "device_token.created": "You created a device token",
    "device_token.revoked": "A device token was revoked",
    "email.verified": "You confirmed your e-mail address",
    "mfa.enrolled": "You turned on two-step sign-in",
    "mfa.disabled": "You turned off two-step sign-in",
    "mfa.recovery_codes_issued": "You made new recovery codes",
    "password.changed": "Your password was changed",
    "session.ended": "A session ended",
    "signin.failed": "A sign-in to your account failed",
    "signin.succeeded": "You signed in",
    "token.issued": "A link was e-mailed to you",
}


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request) -> HTMLResponse:
    container = request.app.state.container
    store = container.audit_store()
    checkpoint, size = audit_queries.log_state(store)
    latest = audit_queries.entries(store, max(0, size - LATEST), size).entries if size else []
    rows = [(index, leaf_hash.hex(), audit_queries.parse_leaf(data) or {})
            for index, _, data, leaf_hash in reversed(latest)]
    batches: list[dict] = []  # public entries listed, commitments counted, per batch
    for index, digest, entry in rows:
        if not batches or batches[-1]["time"] != entry.get("time"):
            batches.append({"time": entry.get("time"), "public": [], "commitments": 0,
                            "first": index, "last": index})
        batch = batches[-1]
        batch["first"] = index
        if "commitment" in entry:
            batch["commitments"] += 1
        else:
            batch["public"].append((index, digest, entry))
    return render(
        request, "audit.html",
        checkpoint=checkpoint,
        parsed=audit_queries.parse_note(checkpoint.note) if checkpoint else None,
        size=size,
        entries=rows,
        batches=batches,
        base_url=container.settings.base_url.rstrip("/"),
    )


@router.get("/account/audit", response_class=HTMLResponse)
def my_audit(request: Request, me: ActorDep, container: ContainerDep) -> HTMLResponse:
    """What the public log holds about you: commitments only you (and oversight) can open."""
    document = container.audit_openings(account_id=me.id)
    entries = sorted(document["entries"], key=lambda e: e["event"].get("time", ""),
                     reverse=True)[:SHOWN]
    shown = {**document, "entries": entries}
    checks = {(c.index, c.slot): c for c in audit_openings.check(shown, document["verifier_key"])
              } if document["checkpoint"] else {}
    return render(request, "account_audit.html", document=document, checks=checks,
                  entries=entries, words=WORDS, total=len(document["entries"]),
                  base_url=container.settings.base_url.rstrip("/"))


@router.get("/account/audit.json")
def my_audit_export(me: ActorDep, container: ContainerDep) -> Response:
    document = container.audit_openings(account_id=me.id)
    return Response(json.dumps(document, indent=1), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-audit.json"',
                             "Cache-Control": "no-store"})
