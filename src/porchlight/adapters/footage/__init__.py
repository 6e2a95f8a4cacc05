"""Footage at rest: chunked AES-256-GCM (``chunked``) over a local or S3 object store.

``bootstrap`` builds one ``EncryptedFootageStore`` around a ``LocalObjectStore`` or an
``S3ObjectStore`` (``porchlight.adapters.footage.s3``, imported only when chosen, so a
deployment on local storage never loads boto3) chosen by settings; nothing else imports
this package.
"""

from porchlight.adapters.footage.errors import (
    AlreadySettled,
    FootageCorrupt,
    FootageError,
    FootageNotFound,
    FootageRangeError,
    InvalidObjectKey,
    SourceChanged,
)
from porchlight.adapters.footage.local import LocalObjectStore
from porchlight.adapters.footage.objects import ObjectStore, StagingFile
from porchlight.adapters.footage.store import EncryptedFootageStore, SealedFootage

__all__ = [
    "AlreadySettled",
    "EncryptedFootageStore",
    "FootageCorrupt",
    "FootageError",
    "FootageNotFound",
    "FootageRangeError",
    "InvalidObjectKey",
    "LocalObjectStore",
    "ObjectStore",
    "SealedFootage",
    "SourceChanged",
    "StagingFile",
]
