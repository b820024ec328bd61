"""S3 I/O of build_gold: silver records in, Parquet tables and the Gold pointer out.

The pointer (`keys.GOLD_POINTER_KEY`) is the only mutable object. It is replaced with a
compare-and-swap on its ETag (`If-Match`, or `If-None-Match: *` for the first one), so a slow
build that started from an older pointer can never move it back: it gets `PointerConflict`
and is retried on top of the newer version.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from services.build_gold.compact import SilverFailure, SilverObject
from services.common import keys

_DOCUMENT_FILE = "/document.json"


class PointerConflict(RuntimeError):
    """The pointer moved since this build read it; rebuild on top of the new version."""


@dataclass(frozen=True)
class Pointer:
    body: dict[str, Any]
    etag: str

    @property
    def version(self) -> str:
        return self.body["version"]


def _is_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}


def get_bytes(s3: Any, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None when it does not exist."""
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if _is_missing(error):
            return None
        raise


def list_keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


# --- silver -----------------------------------------------------------------------------------


def head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if _is_missing(error):
            return None
        raise


def read_filings(s3: Any, bucket: str, year: int) -> tuple[Any, list[SilverFailure]]:
    """The year's index snapshot (parsed JSON), or None with a failure when absent or corrupt."""
    key = keys.filings_key(year)
    data = get_bytes(s3, bucket, key)
    if data is None:
        return None, [SilverFailure(key, "filings snapshot missing")]
    try:
        return json.loads(data), []
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [SilverFailure(key, f"unparseable JSON: {exc}")]


def read_documents(s3: Any, bucket: str, year: int) -> tuple[list[SilverObject], list[SilverFailure]]:
    """Every per-document record of a year; unparseable objects come back as failures."""
    objects, failures = [], []
    for key in sorted(list_keys(s3, bucket, keys.documents_year_prefix(year))):
        if not key.endswith(_DOCUMENT_FILE):
            continue  # page text and other per-document files
        data = get_bytes(s3, bucket, key)
        if data is None:
            failures.append(SilverFailure(key, "listed but gone when read"))
            continue
        try:
            objects.append(SilverObject(key, json.loads(data)))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            failures.append(SilverFailure(key, f"unparseable JSON: {exc}"))
    return objects, failures


# --- Parquet ----------------------------------------------------------------------------------


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def put_bytes(s3: Any, bucket: str, key: str, data: bytes, content_type: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)


def read_parquet(s3: Any, bucket: str, key: str, schema: pa.Schema) -> pa.Table:
    data = get_bytes(s3, bucket, key)
    if data is None:
        raise FileNotFoundError(f"s3://{bucket}/{key}")
    return pq.read_table(io.BytesIO(data), schema=schema)


def put_json(s3: Any, bucket: str, key: str, body: dict[str, Any]) -> None:
    put_bytes(
        s3, bucket, key, json.dumps(body, indent=1, sort_keys=True, default=str).encode(), "application/json"
    )


# --- the pointer ------------------------------------------------------------------------------


def read_pointer(s3: Any, bucket: str) -> Pointer | None:
    try:
        response = s3.get_object(Bucket=bucket, Key=keys.GOLD_POINTER_KEY)
    except ClientError as error:
        if _is_missing(error):
            return None
        raise
    return Pointer(json.loads(response["Body"].read()), response["ETag"])


def move_pointer(s3: Any, bucket: str, body: dict[str, Any], expected: Pointer | None) -> None:
    """Point readers at a new version, only if the pointer is still the one this build read."""
    condition = {"IfMatch": expected.etag} if expected else {"IfNoneMatch": "*"}
    data = json.dumps(body, indent=1, sort_keys=True, default=str).encode()
    try:
        s3.put_object(
            Bucket=bucket, Key=keys.GOLD_POINTER_KEY, Body=data, ContentType="application/json", **condition
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}:
            raise PointerConflict(
                f"Gold pointer moved since {expected.version if expected else 'none'}"
            ) from error
        raise
