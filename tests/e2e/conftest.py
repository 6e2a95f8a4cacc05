"""End-to-end fixtures: a migrated SQLite deployment in a temporary data folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from porchlight import bootstrap
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import CreateAgency, RegisterResident, VerifyAgency
from porchlight.bootstrap import Container
from porchlight.config import Settings
from porchlight.entrypoints.app import create_app
from porchlight.footage.services import cameras
from porchlight.footage.services.commands import RegisterCamera
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import SYSTEM

HOME = LatLon(45.5122, -122.6587)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    container = bootstrap.build(settings)
    container.migrate()
    yield container
    container.close()


@pytest.fixture
def populated(container: Container) -> Container:
    uow = container.uow()
    agency_id = accounts.create_agency(
        uow, SYSTEM,
        CreateAgency("Metro Police", AgencyKind.MUNICIPAL_POLICE, HOME, 8000),
    )
    accounts.verify_agency(uow, SYSTEM, VerifyAgency(agency_id))
    resident_id = accounts.register_resident(
        uow, RegisterResident("secret.person@example.org", "Secret Person", HOME)
    )
    with uow:
        resident = uow.accounts.get(resident_id)
    cameras.register_camera(uow, resident, RegisterCamera("Porch", HOME, opted_in=True))
    cameras.register_camera(uow, resident, RegisterCamera("Garage", HOME))
    return container


@pytest.fixture
def client(populated: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=populated)) as client:
        yield client
