from __future__ import annotations

from datetime import UTC, datetime

import pytest

from porchlight.kernel.adapters.clock import FixedClock
from tests.unit.fakes import FakeUnitOfWork

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def uow(clock: FixedClock) -> FakeUnitOfWork:
    return FakeUnitOfWork(clock)
