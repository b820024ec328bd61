"""The S3 helpers of `objects.py` with the process's shared client, for the stages' handlers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from services.common import objects
from services.common.aws import client


def head(bucket: str, key: str) -> dict[str, Any] | None:
    return objects.head(client("s3"), bucket, key)


def put_if_absent(bucket: str, key: str, body: bytes, metadata: dict[str, str], content_type: str) -> bool:
    """`objects.put_if_absent` with the shared client."""
    return objects.put_if_absent(client("s3"), bucket, key, body, metadata, content_type)


def json_digest(value: Any) -> str:
    """sha256 of a value's canonical JSON: equal for equal data, however it was serialized."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def put_json(bucket: str, key: str, value: Any, metadata: dict[str, str] | None = None) -> None:
    client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(value, separators=(",", ":"), default=str).encode(),
        ContentType="application/json",
        Metadata=metadata or {},
    )


def delete(bucket: str, key: str) -> None:
    """Delete a key (no error when it is absent, as S3 itself answers)."""
    client("s3").delete_object(Bucket=bucket, Key=key)


def get_bytes(bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
    obj = client("s3").get_object(Bucket=bucket, Key=key)
    return obj["Body"].read(), obj.get("Metadata", {})


def get_json(bucket: str, key: str) -> Any:
    return json.loads(get_bytes(bucket, key)[0])


def get_json_if_exists(bucket: str, key: str) -> Any | None:
    """One GET, None when the key is absent (not a HEAD first: that is two requests)."""
    return objects.get_json(client("s3"), bucket, key)
