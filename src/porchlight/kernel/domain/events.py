"""Domain events. Each becomes an audit event: ids, hashes and reason codes, never personal data.

An event is a frozen dataclass whose ``kind`` is its audit tag (``subject.action``). Its
fields may only be UUIDs, integers, booleans, ISO timestamps, hex digests or short codes;
``audit_payload`` checks that, so a name, e-mail address or free text cannot slip into
the append-only log by mistake.

A field declared with ``metadata=INTERNAL`` travels with the event to its handlers (the message
bus needs a delivery's id to mail its resident) but is left out of the audit payload.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar
from uuid import UUID

_CODE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class PersonalDataInAuditEvent(ValueError):
    """An event field could carry personal data; the audit log refuses it."""


# ``field(default=None, metadata=INTERNAL)``: for the event's handlers only, never audited
INTERNAL: Mapping[str, Any] = MappingProxyType({"audit": False})


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    kind: ClassVar[str] = "event"
    version: ClassVar[int] = 1

    actor_id: UUID | None = None

    def audit_payload(self) -> dict[str, object]:
        """The event's fields as audit data, refusing anything that is not an id or a code."""
        payload: dict[str, object] = {}
        for field in dataclasses.fields(self):
            if field.name == "actor_id" or field.metadata.get("audit") is False:
                continue
            payload[field.name] = _audit_value(field.name, getattr(self, field.name))
        return payload


def _audit_value(name: str, value: object) -> object:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and (_CODE.match(value) or _HEX_DIGEST.match(value)):
        return value
    raise PersonalDataInAuditEvent(
        f"audit field {name!r} must be an id, number, timestamp, digest or code"
    )
