"""S3 objects, with the client passed in: get, head, conditional put, list, JSON and Parquet.

The one place that knows which S3 error means "not there". Every stage reads and writes through
these (`storage.py` gives them the shared client), so a test passes a stubbed or moto client and
asserts the exact requests.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
REFUSED_CONDITION = frozenset({"PreconditionFailed", "412"})


def is_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in MISSING


def get_bytes(s3: Any, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None when it does not exist: one GET, never a HEAD first."""
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if is_missing(error):
            return None
        raise


def get_json(s3: Any, bucket: str, key: str) -> Any | None:
    data = get_bytes(s3, bucket, key)
    return None if data is None else json.loads(data)


def head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if is_missing(error):
            return None
        raise


def list_keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def put_bytes(s3: Any, bucket: str, key: str, data: bytes, content_type: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)


def put_json(s3: Any, bucket: str, key: str, body: Any) -> None:
    put_bytes(s3, bucket, key, json.dumps(body, indent=1, sort_keys=True, default=str).encode(), "application/json")


def put_if_absent(s3: Any, bucket: str, key: str, body: bytes, metadata: dict[str, str], content_type: str) -> bool:
    """Write an immutable, content-addressed object once; False when it was already there.

    One conditional PUT (`If-None-Match: *`), not HEAD then PUT: no window between the two for
    another writer. A 409 (another conditional write of the key in flight) is raised: retried.
    """
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata, ContentType=content_type, IfNoneMatch="*")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in REFUSED_CONDITION:
            return False
        raise
    return True


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def read_parquet(s3: Any, bucket: str, key: str, schema: pa.Schema) -> pa.Table:
    data = get_bytes(s3, bucket, key)
    if data is None:
        raise FileNotFoundError(f"s3://{bucket}/{key}")
    return pq.read_table(io.BytesIO(data), schema=schema)
