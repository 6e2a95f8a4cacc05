"""Objects in an S3-compatible bucket: the backend for many machines.

An S3 PUT, and the completion of a multipart upload, makes an object visible all at once,
so writes are atomic without a rename. An object is staged in a local spool file (0600,
locked by its writer: ``objects.StagingFile``), and publishing hands that file to boto3's
``upload_file``, which switches to a multipart upload above
``TransferConfig.multipart_threshold`` and aborts the upload if a part fails; a failure
therefore leaves no object behind and the staging file is removed. Publishing is where
the network transfer happens, so it is the slow step here. An abort can itself fail when
the network does, so give the bucket a lifecycle rule that expires incomplete multipart
uploads after a day.

Reads use ranged GETs, so seeking in a clip fetches only the chunks it needs.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from porchlight.footage.adapters.store.chunked import Readable
from porchlight.footage.adapters.store.errors import FootageNotFound
from porchlight.footage.adapters.store.objects import (
    StagingFile,
    check_key,
    check_prefix,
    is_valid_key,
    sweep_staging_files,
)
from porchlight.footage.services.temp_uploads import TempUpload

MiB = 1 << 20
# Parts are streamed from the staging file, so memory stays near concurrency x io chunk,
# not concurrency x part size; 16 MiB parts keep a 500 MB clip to ~32 requests.
DEFAULT_TRANSFER = TransferConfig(
    multipart_threshold=16 * MiB, multipart_chunksize=16 * MiB, max_concurrency=4
)
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class S3ObjectStore:
    """The ``ObjectStore`` port on one bucket; ``client`` is a boto3 S3 client.

    ``spool_dir`` holds staging files during uploads (default: the system temp folder);
    they hold ciphertext only, and ``sweep_staging`` removes any a crash left behind (only
    files named as staging files: the default folder is shared).
    """

    def __init__(
        self,
        bucket: str,
        client: Any,
        *,
        transfer_config: TransferConfig = DEFAULT_TRANSFER,
        spool_dir: Path | None = None,
    ) -> None:
        self.bucket = bucket
        self._client = client
        self._transfer = transfer_config
        self._spool_dir = spool_dir or Path(tempfile.gettempdir())

    @classmethod
    def connect(
        cls,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        spool_dir: Path | None = None,
    ) -> S3ObjectStore:
        """Build the client; credentials come from boto3's usual chain (env, profile, role)."""
        config = Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"})
        client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
        return cls(bucket, client, spool_dir=spool_dir)

    def stage(self, key: str) -> StagingFile:
        return StagingFile(key, self._spool_dir, self._upload_staged)

    def put(self, key: str, fill: Callable[[BinaryIO], None]) -> None:
        with self.stage(key) as staged:
            fill(staged)  # type: ignore[arg-type]
            staged.publish()

    def put_file(self, key: str, source: Path) -> None:
        check_key(key)
        if not source.is_file():
            raise FileNotFoundError(f"no file to upload at {source}")
        self._upload(source, key)

    @contextmanager
    def open_range(self, key: str, start: int, end: int) -> Iterator[Readable]:
        if end <= start:
            self.size(key)  # a missing key is still "not found", as on the local backend
            yield io.BytesIO(b"")
            return
        body = self._get_range(key, start, end)
        try:
            yield body
        finally:
            body.close()

    def size(self, key: str) -> int:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            raise _not_found_or(exc, key) from None
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FootageNotFound:
            return False
        return True

    def keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=check_prefix(prefix)):
            for item in page.get("Contents", []):
                if is_valid_key(item["Key"]):  # skip foreign objects sharing the bucket
                    yield item["Key"]

    def sweep_staging(self) -> int:
        return sweep_staging_files(self._spool_dir)

    def _upload_staged(self, staged: TempUpload, key: str) -> None:
        self._upload(staged.path, key)

    def _upload(self, path: Path, key: str) -> None:
        self._client.upload_file(str(path), self.bucket, key, Config=self._transfer)

    def _get_range(self, key: str, start: int, end: int) -> Any:
        try:
            response = self._client.get_object(
                Bucket=self.bucket, Key=check_key(key), Range=f"bytes={start}-{end - 1}"
            )
        except ClientError as exc:
            if _error_code(exc) == "InvalidRange":  # starts past the end: no bytes there
                return io.BytesIO(b"")
            raise _not_found_or(exc, key) from None
        return response["Body"]


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _not_found_or(exc: ClientError, key: str) -> Exception:
    """Translate S3's several spellings of "no such key"; pass anything else through."""
    if _error_code(exc) in _NOT_FOUND:
        return FootageNotFound(f"no footage object {key!r}")
    return exc
