"""A rejection needs a reason; the audit log gets its length and a commitment, not the text."""

from __future__ import annotations

import hashlib
from uuid import uuid4

import pytest

from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.requests.domain.requests import RequestStatus
from tests.unit.test_request_rules import NOW, _request


def test_a_rejection_needs_a_reason_and_commits_to_it() -> None:
    request = _request()
    with pytest.raises(ValidationFailed) as short:
        request.reject(supervisor_id=uuid4(), reason="no", nonce="00" * 16, now=NOW)
    assert short.value.field == "reason"
    supervisor, nonce = uuid4(), "ab" * 16
    request.reject(supervisor_id=supervisor, reason="  Too wide:\n ask for one street.  ",
                   nonce=nonce, now=NOW)
    reason = "Too wide: ask for one street."
    assert (request.status, request.rejected_by, request.rejection_reason, request.closed_at) == (
        RequestStatus.REJECTED, supervisor, reason, NOW)
    [event] = request.pull_events()
    assert event.audit_payload() == {
        "request_id": str(request.id), "reason_chars": len(reason),
        "reason_commitment": hashlib.sha256(bytes.fromhex(nonce) + reason.encode()).hexdigest()}
    with pytest.raises(Conflict):
        request.reject(supervisor_id=supervisor, reason=reason, nonce=nonce, now=NOW)
