"""A Gold built in-process (moto) from the mirror's index and the golden PTRs, for API tests.

Shared by the API and publish_api tests: the same silver records the build_gold tests use
(`gold_records.py` beside this module), built with the real `build()`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import gold_records
import pytest

from services.common.config import shared_fixtures

FIXTURES = shared_fixtures()
GOLDEN_DIR = FIXTURES / "golden" / "ptr"
LEGISLATORS = FIXTURES / "reference" / "legislators-current.yaml"
MIRROR_INDEX = FIXTURES / "house-clerk" / "mirror" / "public_disc" / "financial-pdfs" / "2025FD.zip"
NOW = datetime(2025, 11, 26, 8, 0, tzinfo=UTC)
BUCKETS = {"SILVER_BUCKET": "silver", "GOLD_BUCKET": "gold", "SITE_BUCKET": "site"}


def require_fixtures() -> None:
    for path in (GOLDEN_DIR, LEGISLATORS, MIRROR_INDEX):
        if not path.exists():
            pytest.skip(f"shared fixture absent: {path}")


def mirror_silver() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(filings snapshot, document records): golden PTRs, other documents extracted, 404s absent."""
    golden = {f.stem: json.loads(f.read_text()) for f in sorted(GOLDEN_DIR.glob("*.json"))}
    filings = gold_records.index_filings(MIRROR_INDEX.read_bytes())
    return {"year": 2025, "filings": filings}, gold_records.mirror_records(golden, filings)


def load_silver(s3: Any, bucket: str, extra_records: tuple[dict[str, Any], ...] = ()) -> None:
    from services.common import keys

    snapshot, records = mirror_silver()
    s3.put_object(Bucket=bucket, Key=keys.filings_key(2025), Body=json.dumps(snapshot).encode())
    for record in [*records, *extra_records]:
        s3.put_object(Bucket=bucket, Key=keys.document_key(2025, record["doc_id"]), Body=json.dumps(record).encode())


def build_gold(s3: Any, *, silver: str = "silver", gold: str = "gold", now: datetime = NOW, run_id: str = "run-1"):
    from services.build_gold.build import build

    return build(
        s3, silver_bucket=silver, gold_bucket=gold, years=[2025], run_id=run_id,
        legislators=LEGISLATORS.read_bytes(), now=now,
    )  # fmt: skip


@contextmanager
def gold_stack(
    publish: bool = True, ledger: bool = True, extra_records: tuple[dict[str, Any], ...] = ()
) -> Iterator[dict[str, Any]]:
    """moto in-process with a built Gold (and, when asked, the published API objects); extra
    silver document records join the mirror's."""
    require_fixtures()
    import boto3
    from moto import mock_aws

    saved = dict(os.environ)
    os.environ.update(
        {
            **BUCKETS,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:events",
            "BRONZE_BUCKET": "bronze",
            "LEDGER_TABLE": "ledger",
            "API_VERSION_TTL_S": "0",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from services.api.app import store
    from services.common import aws, config, tables

    with mock_aws():
        aws.reset_clients()
        config.settings.cache_clear()
        store.reset()
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in BUCKETS.values():
            s3.create_bucket(Bucket=bucket)
        load_silver(s3, "silver", extra_records)
        result = build_gold(s3)
        assert result.published, result.report.failed_checks
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlqs = [sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("fetch-dlq", "extract-dlq")]
        os.environ["DEAD_LETTER_QUEUES"] = ",".join(dlqs)
        if ledger:
            tables.configure(ledger="ledger", watermarks="watermarks")
            tables.RunItem.create_table(read_capacity_units=1, write_capacity_units=1, wait=True)
        published = None
        if publish:
            from services.publish_api.publish import publish as do_publish

            published = do_publish(s3, gold_bucket="gold", site_bucket="site", now=NOW)
        try:
            yield {"s3": s3, "sqs": sqs, "build": result, "published": published, "dlqs": dlqs}
        finally:
            store.reset()
            aws.reset_clients()
            config.settings.cache_clear()
            os.environ.clear()
            os.environ.update(saved)
            tables.configure_from_env()
