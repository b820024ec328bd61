"""S3 I/O of build_gold: silver records in, the Gold pointer out (`documents.read_pointer` reads it).

The pointer (`keys.GOLD_POINTER_KEY`) is the only mutable object. It is replaced with a
compare-and-swap on its ETag (`If-Match`, or `If-None-Match: *` for the first one), so a slow
build that started from an older pointer can never move it back: it gets `PointerConflict`
and is retried on top of the newer version.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from services.build_gold.compact import SilverFailure, SilverObject
from services.common import aws, keys, objects
from services.common.documents import GoldManifest, Pointer

_DOCUMENT_FILE = "/document.json"


class PointerConflict(RuntimeError):
    """The pointer moved since this build read it; rebuild on top of the new version."""


def read_filings(s3: Any, bucket: str, year: int) -> tuple[Any, list[SilverFailure]]:
    """The year's index snapshot (parsed JSON), or None with a failure when absent or corrupt."""
    key = keys.filings_key(year)
    data = objects.get_bytes(s3, bucket, key)
    if data is None:
        return None, [SilverFailure(key, "filings snapshot missing")]
    try:
        return json.loads(data), []
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [SilverFailure(key, f"unparseable JSON: {exc}")]


def read_documents(s3: Any, bucket: str, year: int) -> tuple[list[SilverObject], list[SilverFailure]]:
    """Every per-document record of a year, in key order; unparseable objects come back as failures.

    Read `aws.CONCURRENT_REQUESTS` at a time: a year is about 1,600 objects, and one GET after another waited
    out S3's latency (tens of milliseconds on AWS) 1,600 times. Each is parsed where it was read,
    so no more than that many raw bodies are held at once."""

    def read(key: str) -> SilverObject | SilverFailure:
        data = objects.get_bytes(s3, bucket, key)
        if data is None:
            return SilverFailure(key, "listed but gone when read")
        try:
            return SilverObject(key, json.loads(data))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return SilverFailure(key, f"unparseable JSON: {exc}")

    wanted = sorted(k for k in objects.list_keys(s3, bucket, keys.documents_year_prefix(year))
                    if k.endswith(_DOCUMENT_FILE))  # not page text and other per-document files
    with ThreadPoolExecutor(max_workers=aws.CONCURRENT_REQUESTS) as pool:
        results = list(pool.map(read, wanted))
    return ([r for r in results if isinstance(r, SilverObject)],
            [r for r in results if isinstance(r, SilverFailure)])


# --- the pointer ------------------------------------------------------------------------------


def move_pointer(s3: Any, bucket: str, manifest: GoldManifest, expected: Pointer | None) -> None:
    """Point readers at a new version, only if the pointer is still the one this build read."""
    condition = {"IfMatch": expected.etag} if expected else {"IfNoneMatch": "*"}
    data = json.dumps(manifest.to_json(), indent=1, sort_keys=True).encode()
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
