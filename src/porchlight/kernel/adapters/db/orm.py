"""Imperative mapping: the domain's plain dataclasses are mapped onto the tables here."""

from __future__ import annotations

from sqlalchemy.orm import registry

from porchlight.accounts.domain.accounts import Account
from porchlight.accounts.domain.agencies import Agency
from porchlight.accounts.domain.auth import (
    ApiToken,
    DeviceToken,
    OneTimeToken,
    RecoveryCode,
    Session,
)
from porchlight.custody.domain.demands import LegalDemand
from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.domain.holds import LegalHold
from porchlight.custody.domain.reshare import EvidenceShare
from porchlight.feed.domain.moderation import Comment, Report
from porchlight.feed.domain.posts import Post
from porchlight.footage.domain.cameras import Camera
from porchlight.footage.domain.clips import Clip
from porchlight.jobs.domain.jobs import Job
from porchlight.kernel.adapters.db import tables
from porchlight.redaction.domain.copies import RedactedCopy
from porchlight.requests.domain.consent import Consent, Delivery
from porchlight.requests.domain.requests import VideoRequest

mapper_registry = registry(metadata=tables.metadata)
_started = False


def start_mappers() -> None:
    """Map once per process; calling again is harmless."""
    global _started
    if _started:
        return
    mapper_registry.map_imperatively(Agency, tables.agencies)
    mapper_registry.map_imperatively(Account, tables.accounts)
    mapper_registry.map_imperatively(Camera, tables.cameras)
    mapper_registry.map_imperatively(Session, tables.sessions)
    mapper_registry.map_imperatively(OneTimeToken, tables.one_time_tokens)
    mapper_registry.map_imperatively(ApiToken, tables.api_tokens)
    mapper_registry.map_imperatively(DeviceToken, tables.device_tokens)
    mapper_registry.map_imperatively(RecoveryCode, tables.recovery_codes)
    mapper_registry.map_imperatively(Clip, tables.clips)
    mapper_registry.map_imperatively(VideoRequest, tables.video_requests)
    mapper_registry.map_imperatively(Delivery, tables.deliveries)
    mapper_registry.map_imperatively(Consent, tables.consents)
    mapper_registry.map_imperatively(EvidenceItem, tables.evidence_items)
    mapper_registry.map_imperatively(LegalHold, tables.legal_holds)
    mapper_registry.map_imperatively(EvidenceShare, tables.evidence_shares)
    mapper_registry.map_imperatively(LegalDemand, tables.legal_demands)
    mapper_registry.map_imperatively(Job, tables.jobs)
    mapper_registry.map_imperatively(RedactedCopy, tables.redacted_copies)
    mapper_registry.map_imperatively(Post, tables.posts)
    mapper_registry.map_imperatively(Comment, tables.comments)
    mapper_registry.map_imperatively(Report, tables.reports)
    _started = True
