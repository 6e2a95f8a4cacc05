"""Answering a deletion request: the due date and overdue rule, what a "kept" answer must
name, and that a "deleted" answer purges the item by the retention path (pure domain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from porchlight.custody.domain.deletion import (
    PURGE_REASON,
    DeletionAnswer,
    EvidenceDeletionAnswered,
    answer_due,
    answer_item,
    is_overdue,
)
from porchlight.custody.domain.evidence import EvidenceItem, EvidencePurged
from porchlight.custody.domain.holds import LegalHold
from porchlight.kernel.domain.errors import Conflict, ValidationFailed

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AGENCY, REQUEST = uuid4(), uuid4()


def _item() -> EvidenceItem:
    return EvidenceItem(
        id=uuid4(), consent_id=uuid4(), request_id=REQUEST, agency_id=AGENCY,
        source_clip_id=uuid4(), source_sha256="a" * 64, sha256="b" * 64, size_bytes=10,
        container="mp4", start_offset_seconds=0.0, end_offset_seconds=1.0, covers_from=NOW,
        covers_to=NOW, object_key=f"evidence/{uuid4()}", wrapped_key=b"k", received_at=NOW,
        expires_at=NOW + timedelta(days=90), first_opened_at=NOW)


def _hold(*, agency=AGENCY, request=REQUEST, until=NOW + timedelta(days=30)) -> LegalHold:
    return LegalHold(id=uuid4(), request_id=request, agency_id=agency, set_by=uuid4(),
                     set_by_role="supervisor", set_at=NOW - timedelta(days=1), until=until,
                     reason="Kept for the trial.", reason_nonce="00" * 16)


def test_due_date_and_overdue() -> None:
    assert answer_due(NOW, 14) == NOW + timedelta(days=14)
    assert not is_overdue(NOW, 14, None, NOW + timedelta(days=14))
    assert is_overdue(NOW, 14, None, NOW + timedelta(days=14, seconds=1))
    assert not is_overdue(NOW, 14, NOW + timedelta(days=3), NOW + timedelta(days=40))
    assert is_overdue(NOW, 14, NOW + timedelta(days=15), NOW + timedelta(days=40))


def test_deleted_purges_and_records_a_public_answer() -> None:
    item, actor = _item(), uuid4()
    answer_item(item, DeletionAnswer.DELETED, None, actor_id=actor, role="supervisor", now=NOW)
    assert item.purged_at == NOW and item.wrapped_key is None
    answered, purged = item.pull_events()
    assert isinstance(answered, EvidenceDeletionAnswered)
    assert answered.audit_payload() == {"evidence_id": str(item.id),
                                        "agency_id": str(AGENCY), "answer": "deleted",
                                        "hold_id": None}
    assert isinstance(purged, EvidencePurged) and purged.reason == PURGE_REASON
    with pytest.raises(Conflict):
        answer_item(item, DeletionAnswer.DELETED, None, actor_id=actor, role="supervisor",
                    now=NOW)


@pytest.mark.parametrize("hold", [None, _hold(agency=uuid4()), _hold(request=uuid4()),
                                  _hold(until=NOW - timedelta(seconds=1))])
def test_kept_must_name_an_active_hold_of_the_holder_on_the_case(hold) -> None:
    item = _item()
    with pytest.raises(ValidationFailed):
        answer_item(item, DeletionAnswer.KEPT, hold, actor_id=uuid4(), role="supervisor",
                    now=NOW)
    assert item.deletion_answer is None and item.pull_events() == []


def test_kept_under_a_hold_keeps_the_item() -> None:
    item, hold = _item(), _hold()
    answer_item(item, DeletionAnswer.KEPT, hold, actor_id=uuid4(), role="agency_admin",
                now=NOW)
    assert item.is_readable and item.deletion_hold_id == hold.id
    [answered] = item.pull_events()
    assert answered.hold_id == hold.id and answered.answer == "kept"
