"""Read-modify-writes that two requests can race, on PostgreSQL (READ COMMITTED, where
without a row lock the later commit overwrites the earlier): each case makes two
requests read before either writes, and checks both writes count."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from porchlight import bootstrap
from porchlight.adapters.db import migrate
from porchlight.bootstrap import Container
from porchlight.config import Settings
from porchlight.domain.errors import SigninRefused
from porchlight.domain.geo import LatLon
from porchlight.services import accounts, commands, signin
from tests.integration.conftest import fresh_postgres_database

PASSWORD = "correct horse battery staple"


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    with fresh_postgres_database("porchlight_race") as engine:
        migrate.upgrade(engine)
        yield engine


@pytest.fixture
def container(settings: Settings, pg_engine: Engine) -> Iterator[Container]:
    container = bootstrap.build(settings, engine=pg_engine)
    yield container


def test_two_wrong_passwords_at_once_both_count(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    sec = container.security
    account_id = accounts.register_resident(
        container.uow(), commands.RegisterResident("ana@example.org", "Ana",
                                                   LatLon(45.5, -122.6), PASSWORD),
        sec.passwords)
    both_checked = threading.Barrier(2, timeout=10)
    verify = sec.passwords.verify

    def verify_then_meet(stored: str, password: str) -> bool:
        matched = verify(stored, password)
        both_checked.wait()  # both have read the account before either writes
        return matched

    monkeypatch.setattr(sec.passwords, "verify", verify_then_meet)
    refused: list[bool] = []

    def attempt() -> None:
        try:
            signin.sign_in(container.uow(), sec, "ana@example.org", "not the password")
        except SigninRefused:
            refused.append(True)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert refused == [True, True]
    with container.uow().reading() as uow:
        assert len(uow.accounts.get(account_id).failed_signins) == 2
