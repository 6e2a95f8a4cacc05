"""Password reset through a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from porchlight.config import Settings
from porchlight.kernel.adapters.mail import SmtpMailer
from tests.e2e import support


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_smtp_mailer_delivers_a_plain_text_message(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    mailer = SmtpMailer(host="127.0.0.1", port=port, sender="Porchlight <no-reply@x.invalid>")
    mailer.send(support.OutgoingMail(to="ana@example.org", subject="Hello", body="Line one"))
    [message] = inbox.messages
    assert message["To"] == "ana@example.org"
    assert message["Subject"] == "Hello"
    assert message.get_payload(decode=True).decode().strip() == "Line one"


def test_password_reset_through_a_real_smtp_server(
    settings: Settings, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    mailer = SmtpMailer(host="127.0.0.1", port=port, sender="no-reply@porchlight.invalid")
    monkeypatch.setattr(support, "RecordingMailer", lambda: mailer)
    d = support.build_deployment(settings)
    resident = d.people["resident_a"]
    browser = d.browser()
    browser.submit("/password/forgot", {"email": resident.email})

    [message] = inbox.messages
    assert message["To"] == resident.email
    body = message.get_payload(decode=True).decode()
    path = re.search(r"http://127\.0\.0\.1:8000(/password/reset/\S+)", body).group(1)
    assert browser.submit(path, {"password": "mailed link passphrase 5"}).status_code == 200
    resident.password = "mailed link passphrase 5"
    d.browser().sign_in(resident)
