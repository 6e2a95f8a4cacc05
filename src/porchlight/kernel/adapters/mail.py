"""Mailers: SMTP for real deployments, a JSON-lines mail log for development and the demo.

A message with an idempotency key (``OutgoingMail.key``) is sent again when its job is
retried after a crash between sending it and recording that it went. The mail log writes a
key once, whichever worker process sends it (they share the file under an ``flock``). SMTP
cannot take a message back: the retry hands the server the same message with the same
Message-ID, which many mail clients show once, but a worker killed between the server's
"250 OK" and the job's commit (a short window: the end of the SMTP session and one
transaction) can still make the resident receive a second copy.
"""

from __future__ import annotations

import fcntl
import json
import os
import smtplib
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import BinaryIO

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
    """Appends each message to a JSON-lines file the development mail page shows; a message
    whose key is in the file already is not written again (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._keys: set[str] = set()  # the keys in the file up to byte _read_to
        self._read_to = 0
        self._cut_short = False

    def send(self, mail: OutgoingMail) -> None:
        record = {"at": datetime.now(UTC).isoformat(), "to": mail.to,
                  "subject": mail.subject, "body": mail.body, "key": mail.key}
        with self._lock, private_file(self.path).open("ab+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # other processes append to it too
            self._read_keys(handle)
            if mail.key is not None and mail.key in self._keys:
                return
            start = "\n" if self._cut_short else ""  # not on a line a killed writer cut short
            handle.write((start + json.dumps(record) + "\n").encode())
            handle.flush()
            self._read_keys(handle)

    def _read_keys(self, handle: BinaryIO) -> None:
        """Learn the keys written since the last look, by this process or another."""
        end = handle.seek(0, os.SEEK_END)
        if end < self._read_to:  # the log was emptied or replaced
            self._keys, self._read_to = set(), 0
        handle.seek(self._read_to)
        data = handle.read(end - self._read_to)
        complete = data[:data.rfind(b"\n") + 1]  # not a line cut short by a kill
        for line in complete.splitlines():
            try:
                key = json.loads(line).get("key")
            except ValueError:
                continue
            if key is not None:
                self._keys.add(key)
        self._read_to += len(complete)
        self._cut_short = len(data) > len(complete)

    def read(self, limit: int = 50) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in reversed(lines[-limit:])]
