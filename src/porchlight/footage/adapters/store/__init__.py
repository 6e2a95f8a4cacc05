"""Footage at rest: chunked AES-256-GCM (``chunked``) over a local or S3 object store.

``bootstrap`` builds one ``EncryptedFootageStore`` around a ``LocalObjectStore`` or an
``S3ObjectStore`` (``porchlight.footage.adapters.store.s3``, imported only when chosen, so a
deployment on local storage never loads boto3) chosen by settings; nothing else imports
this package.
"""

from porchlight.footage.adapters.store.errors import (
    AlreadySettled,
    FootageCorrupt,
    FootageError,
    FootageNotFound,
    FootageRangeError,
    InvalidObjectKey,
    SourceChanged,
)
from porchlight.footage.adapters.store.local import LocalObjectStore
from porchlight.footage.adapters.store.objects import ObjectStore, StagingFile
from porchlight.footage.adapters.store.store import EncryptedFootageStore, SealedFootage

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
