"""Errors the footage adapters raise.

``FootageNotFound`` and ``FootageRangeError`` also subclass the domain's ``NotFound`` and
``ValidationFailed``, so a use case or the web layer's error table can handle them without
importing an adapter. ``FootageCorrupt`` deliberately is not a domain error: it means the
stored bytes, or the data key the caller passed, are wrong, which is a server fault.
"""

from __future__ import annotations

from porchlight.kernel.domain.errors import NotFound, ValidationFailed


class FootageError(Exception):
    """Base of every error raised by the footage adapters."""


class FootageCorrupt(FootageError):
    """Stored footage failed authentication or is malformed.

    AES-GCM cannot tell a wrong data key from altered bytes, so both land here.
    """


class FootageNotFound(FootageError, NotFound):
    """No object is stored under the key."""

    code = "footage_not_found"


class FootageRangeError(FootageError, ValidationFailed):
    """The requested plaintext range is negative, inverted or past the end of the object."""

    code = "range_not_satisfiable"


class SourceChanged(FootageError):
    """The plaintext file changed size while it was being encrypted; nothing was stored."""


class InvalidObjectKey(FootageError, ValueError):
    """An object key outside the safe alphabet and shape (see ``objects.check_key``)."""


class AlreadySettled(FootageError, RuntimeError):
    """A staged object was published or discarded already: it is settled once."""
