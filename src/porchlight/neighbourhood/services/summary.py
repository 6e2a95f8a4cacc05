"""Read-side queries for the public pages: aggregate figures only, never a person or a camera."""

from __future__ import annotations

from dataclasses import dataclass

from porchlight.accounts.domain.agencies import Agency
from porchlight.kernel.services.ports import UnitOfWork


@dataclass(frozen=True)
class NeighbourhoodSummary:
    residents: int
    cameras: int
    cameras_opted_in: int
    agencies: list[Agency]


def summary(uow: UnitOfWork) -> NeighbourhoodSummary:
    with uow.reading():
        return NeighbourhoodSummary(
            residents=uow.accounts.count_residents(),
            cameras=uow.cameras.count(),
            cameras_opted_in=uow.cameras.count(opted_in=True),
            agencies=_by_name(uow),
        )


def agencies(uow: UnitOfWork) -> list[Agency]:
    """Every agency, by name: what the agencies page and API list, without the counts."""
    with uow.reading():
        return _by_name(uow)


def _by_name(uow: UnitOfWork) -> list[Agency]:
    return sorted(uow.agencies.list(), key=lambda a: a.name)
