"""Base for entities that record domain events for the unit of work to collect."""

from __future__ import annotations

from porchlight.kernel.domain.events import DomainEvent


class Entity:
    """Events live in the instance dict, so mapped objects loaded from a database work too."""

    def record(self, event: DomainEvent) -> None:
        self.__dict__.setdefault("_pending_events", []).append(event)

    def pull_events(self) -> list[DomainEvent]:
        return self.__dict__.pop("_pending_events", [])
