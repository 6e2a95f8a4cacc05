"""What ``audit verify --url`` remembers: the last checkpoint it verified, per log key.

Like Go's checksum database client, the verifier keeps the newest checkpoint it accepted
for each log in a file under the user's data folder
(``$PORCHLIGHT_VERIFY_STATE_DIR``, else ``$XDG_DATA_HOME/porchlight/audit-verify``, else
``~/.local/share/porchlight/audit-verify``) and trusts it next time, so a log rolled back
or forked since then fails verification without the user keeping any file.  Files are
written to a temporary name and renamed into place, never seen half-written.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from porchlight.audit.services.queries import parse_note
from porchlight.kernel.adapters.files import private_dirs


def default_state_dir() -> Path:
    explicit = os.environ.get("PORCHLIGHT_VERIFY_STATE_DIR")
    if explicit:
        return Path(explicit)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "porchlight" / "audit-verify"


class VerifiedCheckpointFile:
    """The last verified checkpoint note for one verifier key, in ``directory``."""

    def __init__(self, directory: Path, verifier_key: str) -> None:
        name, key_hash = verifier_key.split("+")[:2]
        self.path = directory / f"{quote(name, safe='')}+{key_hash}.note"

    def load(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def save(self, note: str) -> bool:
        """Keep ``note`` unless the stored one is larger; True when written."""
        new = parse_note(note)
        stored = self.load()
        old = parse_note(stored) if stored else None
        if new is None or (old is not None and old.size > new.size):
            return False
        private_dirs(self.path.parent)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(note, encoding="utf-8")
        os.replace(temporary, self.path)
        return True
