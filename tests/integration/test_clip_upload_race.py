"""Two identical uploads at the same moment make one clip, on both databases.

The upload's own check (the camera has no live clip with these bytes) runs before it
publishes; two uploads of the same bytes can both pass it. The unique index on live
(camera, sha256) then refuses the second commit, and that upload answers with the clip
that won, removing its own objects. Here the race is made deterministic: while the
first upload sits between its check and its commit, a second upload of the same bytes
runs to the end.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from porchlight.accounts.domain.accounts import Account
from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import RegisterResident
from porchlight.footage.adapters.store import (
    EncryptedFootageStore,
    LocalObjectStore,
    SealedFootage,
)
from porchlight.footage.adapters.vault import LocalKeyVault
from porchlight.footage.services import cameras, library
from porchlight.footage.services.commands import ReceivedFile, RegisterCamera, UploadClip
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.adapters.db import migrate
from porchlight.kernel.adapters.db.engine import make_engine
from porchlight.kernel.adapters.db.uow import _SQLITE_MESSAGES, RACED, SqlUnitOfWork
from porchlight.kernel.domain.errors import Conflict
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.services.ports import VideoInfo
from tests.integration.conftest import T0, fresh_postgres_database
from tests.unit.fakes import FakeVideoTools

INFO = VideoInfo(container="mp4", video_codec="h264", audio_codec=None, width=1280, height=720,
                 frame_rate=15.0, duration_seconds=12.0, rotation=0)
BYTES = b"the same doorbell footage, sent twice at once" * 100


class CheckedThenStore(EncryptedFootageStore):
    """Calls ``after_checks`` when an upload publishes its video: its checks have passed,
    nothing of it is published yet, the moment another upload can slip in."""

    def __init__(self, root: Path, after_checks: Callable[[], None]) -> None:
        super().__init__(LocalObjectStore(root))
        self.after_checks = after_checks

    def seal(self, key: str, plaintext: Path, data_key: bytes) -> SealedFootage:
        staged = super().seal(key, plaintext, data_key)
        if key.endswith(".video"):
            publish = staged.publish

            def checked_then_publish() -> None:
                self.after_checks()
                publish()
            staged.publish = checked_then_publish  # type: ignore[method-assign]
        return staged


def _once(action: Callable[[], object]) -> Callable[[], None]:
    """``action`` the first time only (the racing upload must not race itself)."""
    pending = [action]

    def run() -> None:
        if pending:
            pending.pop()()
    return run


def _received(tmp_path: Path, name: str) -> ReceivedFile:
    path = tmp_path / name
    path.write_bytes(BYTES)
    return ReceivedFile(path, len(BYTES))


def _camera(uow: SqlUnitOfWork) -> UUID:
    owner_id = accounts.register_resident(uow, RegisterResident("r@example.org", "R"))
    with uow:
        owner = uow.accounts.get(owner_id)
    return cameras.register_camera(
        uow, owner, RegisterCamera("Door", LatLon(45.5, -122.6), retention_days=7))


def test_the_upload_that_loses_the_race_answers_with_the_winner(
        uow: SqlUnitOfWork, connection: Connection, tmp_path: Path) -> None:
    camera_id = _camera(uow)
    root = tmp_path / "objects"
    won: list[library.UploadResult] = []

    def upload(kit: library.Footage, name: str) -> library.UploadResult:
        return library.upload_clip(uow, kit, camera_id, UploadClip(
            camera_id, uow.clock.now() - timedelta(hours=1), _received(tmp_path, name)))

    def kit(store: EncryptedFootageStore) -> library.Footage:
        return library.Footage(store=store, video=FakeVideoTools(INFO),
                               vault=LocalKeyVault(bytes(32)), max_upload_bytes=1 << 20)

    plain = kit(EncryptedFootageStore(LocalObjectStore(root)))
    racing = kit(CheckedThenStore(root, _once(lambda: won.append(upload(plain, "second.part")))))
    lost = upload(racing, "first.part")

    assert won and won[0].created
    assert (lost.clip_id, lost.created) == (won[0].clip_id, False)
    sha256 = hashlib.sha256(BYTES).hexdigest()
    live = connection.execute(text(
        "SELECT id, object_key, poster_key FROM clips WHERE sha256 = :sha"), {"sha": sha256}
    ).all()
    assert [UUID(str(row.id)) for row in live] == [won[0].clip_id]
    published = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert published == sorted([live[0].object_key, live[0].poster_key])  # no staging left
    uploads = connection.execute(text(
        "SELECT count(*) FROM audit_events WHERE kind = 'clip.uploaded'")).scalar()
    assert uploads == 1


def test_other_unique_clashes_are_conflicts_not_server_errors(uow: SqlUnitOfWork) -> None:
    """The translation is general: two sign-ups with one address that both passed the
    "is it taken?" check meet the unique e-mail column at commit, and the second gets
    ``Conflict`` (409), not a server error, with nothing of it saved."""
    accounts.register_resident(uow, RegisterResident("same@example.org", "A"))
    twin = Account.resident(id=uuid4(), email="same@example.org", display_name="B", home=None,
                            now=uow.clock.now())
    with pytest.raises(Conflict) as caught, uow:
        uow.accounts.add(twin)
        uow.commit()
    assert caught.value.code == "conflict.concurrent"
    with uow:
        assert uow.accounts.get(twin.id) is None
        assert uow.accounts.get_by_email("same@example.org").display_name == "A"


def test_a_collision_no_race_explains_stays_an_error(uow: SqlUnitOfWork) -> None:
    """A primary-key clash (say, a reused id) is a bug, not a race: not turned into 409."""
    first_id = accounts.register_resident(uow, RegisterResident("one@example.org", "A"))
    twin = Account.resident(id=first_id, email="two@example.org", display_name="B", home=None,
                            now=uow.clock.now())
    with pytest.raises(IntegrityError), uow:
        uow.accounts.add(twin)
        uow.commit()


def test_every_raced_rule_is_a_real_unique_rule(connection: Connection) -> None:
    """The names in RACED match the schema, on both databases: a renamed constraint would
    otherwise quietly turn its race back into a server error."""
    assert len(_SQLITE_MESSAGES) == len(RACED)
    if connection.dialect.name == "postgresql":
        names = set(connection.execute(text(
            "SELECT conname FROM pg_constraint WHERE contype = 'u' UNION "
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indisunique")).scalars())
        assert names >= RACED


# --- the same race on two real connections ---------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def real_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of its own, committed to for real (no savepoints)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
        migrate.upgrade(engine)
        yield engine
        engine.dispose()
        return
    with fresh_postgres_database("porchlight_race") as engine:
        migrate.upgrade(engine)
        yield engine


def test_two_uploads_at_once_on_real_connections_make_one_clip(
        real_engine: Engine, tmp_path: Path) -> None:
    """The second commit waits for the first (PostgreSQL's row lock on the index entry,
    SQLite's write lock), then breaks the unique rule and answers with the winner."""
    clock = FixedClock(T0)
    factory = sessionmaker(real_engine, expire_on_commit=False)
    camera_id = _camera(SqlUnitOfWork(factory, clock))
    root, meeting = tmp_path / "objects", threading.Barrier(2)

    def meet() -> None:
        """Each upload, once its checks pass, waits for the other: both then commit."""
        meeting.wait(timeout=20)

    kit = library.Footage(store=CheckedThenStore(root, meet), video=FakeVideoTools(INFO),
                          vault=LocalKeyVault(bytes(32)), max_upload_bytes=1 << 20)

    def upload(name: str) -> library.UploadResult:
        return library.upload_clip(SqlUnitOfWork(factory, clock), kit, camera_id,
            UploadClip(camera_id, T0 - timedelta(hours=1), _received(tmp_path, name)))

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [f.result(timeout=60) for f in [pool.submit(upload, "a.part"),
                                                   pool.submit(upload, "b.part")]]
    assert sorted(r.created for r in results) == [False, True]
    assert results[0].clip_id == results[1].clip_id
    with real_engine.connect() as connection:
        live = connection.execute(text(
            "SELECT object_key, poster_key FROM clips WHERE deleted_at IS NULL")).all()
    assert len(live) == 1
    published = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert published == sorted(live[0])
