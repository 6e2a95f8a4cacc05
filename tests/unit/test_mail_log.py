"""The development mail log honours a message's idempotency key: a job retried after a
crash between sending and recording it (the kill test's finding) writes nothing new, also
when the first send came from another worker process sharing the data folder."""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from pathlib import Path

from porchlight.kernel.adapters.mail import LogMailer
from porchlight.kernel.services.ports import OutgoingMail


def notice(key: str | None, to: str = "resident@example.org") -> OutgoingMail:
    return OutgoingMail(to=to, subject="A video request for your camera", body="…", key=key)


def keys(path: Path) -> Counter[str | None]:
    return Counter(json.loads(line)["key"] for line in path.read_text().splitlines())


def test_a_key_sent_again_is_not_written_again(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    mailer = LogMailer(path)
    mailer.send(notice("request-notice.1"))
    mailer.send(notice("request-notice.1"))  # the retry after a crash before it was marked
    mailer.send(notice("request-notice.2"))
    assert keys(path) == Counter({"request-notice.1": 1, "request-notice.2": 1})
    assert [m["key"] for m in mailer.read()] == ["request-notice.2", "request-notice.1"]


def test_a_key_another_process_wrote_is_not_written_again(tmp_path: Path) -> None:
    """A restarted worker is a new mailer over the same file: it must read what is there."""
    path = tmp_path / "mail.log"
    LogMailer(path).send(notice("request-notice.1"))
    later = LogMailer(path)
    later.send(notice("request-notice.1"))
    LogMailer(path).send(notice("request-notice.2"))
    later.send(notice("request-notice.2"))  # written by another mailer since `later` last read
    assert keys(path) == Counter({"request-notice.1": 1, "request-notice.2": 1})


def test_mail_without_a_key_is_always_written(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    mailer = LogMailer(path)
    mailer.send(notice(None))
    mailer.send(notice(None))
    assert keys(path) == Counter({None: 2})


def test_a_line_cut_short_by_a_kill_does_not_swallow_the_next(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    LogMailer(path).send(notice("request-notice.1"))
    with path.open("a") as handle:
        handle.write('{"at": "2026-12-04", "to": "resid')  # a writer killed mid-line
    mailer = LogMailer(path)
    mailer.send(notice("request-notice.2"))
    mailer.send(notice("request-notice.2"))
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["key"] == "request-notice.2"


def _send_all(path: str, count: int) -> None:
    mailer = LogMailer(Path(path))
    for n in range(count):
        mailer.send(notice(f"request-notice.{n}"))


def test_two_processes_racing_write_each_key_once(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    context = multiprocessing.get_context("fork")
    racers = [context.Process(target=_send_all, args=(str(path), 150)) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
        assert racer.exitcode == 0
    assert keys(path) == Counter({f"request-notice.{n}": 1 for n in range(150)})
