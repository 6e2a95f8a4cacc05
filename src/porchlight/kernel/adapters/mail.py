"""Mailers: SMTP for real deployments, a JSON-lines mail log for development and the demo."""

from __future__ import annotations

import json
import smtplib
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from porchlight.kernel.adapters.files import private_file
from porchlight.kernel.services.ports import OutgoingMail


def _message(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = (f"<{mail.key}@porchlight.invalid>" if mail.key
                             else make_msgid(domain="porchlight.invalid"))
    message.set_content(mail.body)
    return message


class SmtpMailer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 15.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, mail: OutgoingMail) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username and self.password:
                smtp.login(self.username, self.password)
            smtp.send_message(_message(mail, self.sender))


class LogMailer:
    """Appends each message to a JSON-lines file the development mail page shows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, mail: OutgoingMail) -> None:
        record = {"at": datetime.now(UTC).isoformat(), "to": mail.to,
                  "subject": mail.subject, "body": mail.body, "key": mail.key}
        with self._lock, private_file(self.path).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def read(self, limit: int = 50) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in reversed(lines[-limit:])]
