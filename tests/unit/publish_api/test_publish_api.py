"""publish_api: the precomputed answers and meta in the site bucket, idempotency, the handler."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "api"))
from gold_env import NOW, build_gold, gold_stack  # noqa: E402

from services.api import data  # noqa: E402
from services.publish_api.publish import publish  # noqa: E402

SITE, GOLD = "site", "gold"


@pytest.fixture
def stack():
    with gold_stack(publish=False, ledger=False) as env:
        yield env


def _json(s3, key):
    return json.loads(s3.get_object(Bucket=SITE, Key=key)["Body"].read())


def _keys(s3, prefix=""):
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=SITE, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)


def _versions(s3):
    return len(s3.list_object_versions(Bucket=SITE).get("Versions", []))


def test_precomputed_objects_and_meta(stack):
    s3 = stack["s3"]
    result = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert result.gold_version == stack["build"].version and not result.already_published

    meta = _json(s3, data.META_KEY)
    assert meta["gold_version"] == stack["build"].version
    assert meta["built_at"] == NOW.isoformat() and meta["published_at"] == NOW.isoformat(timespec="seconds")
    assert meta["row_counts"]["fact_transactions"] == 72
    assert meta["objects"] == result.objects

    summary = _json(s3, data.summary_key())
    assert summary["totals"]["trades"] == 72 and summary["gold_version"] == stack["build"].version
    assert len(_json(s3, data.latest_trades_key())["items"]) == 50
    for window in (7, 30, 90):
        assert _json(s3, data.trending_key(window))["window_days"] == window
    pelosi = _json(s3, data.member_key_of("P000197"))
    assert pelosi["member"]["name"] == "Nancy Pelosi" and len(pelosi["trades"]) == 9
    nvda = _json(s3, data.ticker_key_of("NVDA"))
    assert nvda["ticker"]["trades"] == 5
    members = _keys(s3, data.API_PREFIX + "members/")
    tickers = _keys(s3, data.API_PREFIX + "tickers/")
    assert len(members) == meta["members"] and len(tickers) == meta["tickers"] == 35
    # a ticker with a dot stays one key
    assert data.ticker_key_of("BRK.B") in tickers

    # the website is at the bucket root, with content types a browser accepts
    head = s3.head_object(Bucket=SITE, Key="index.html")
    assert head["ContentType"].startswith("text/html")
    assert s3.head_object(Bucket=SITE, Key="app.js")["ContentType"].startswith(("application/javascript", "text/javascript"))


def test_same_version_twice_changes_nothing(stack):
    s3 = stack["s3"]
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    versions = _versions(s3)
    meta = _json(s3, data.META_KEY)
    again = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=datetime(2025, 11, 27, tzinfo=UTC))
    assert again.already_published and again.written == 0
    assert _versions(s3) == versions and _json(s3, data.META_KEY) == meta


def test_a_retry_after_a_crash_rewrites_only_what_is_missing(stack):
    s3 = stack["s3"]
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    s3.delete_object(Bucket=SITE, Key=data.META_KEY)  # as if the crash came before the meta
    s3.delete_object(Bucket=SITE, Key=data.summary_key())
    result = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert result.written == 2  # the summary and the meta; every other object was already there


def test_a_new_version_replaces_answers_and_drops_gone_ones(stack):
    s3 = stack["s3"]
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    stale_key = data.member_key_of("filer-gone")
    s3.put_object(Bucket=SITE, Key=stale_key, Body=b"{}")
    # A new Gold version from the same silver plus nothing: a new timestamp, same content.
    second = build_gold(s3, now=datetime(2025, 11, 27, 8, 0, tzinfo=UTC), run_id="run-2")
    assert second.published and second.version != stack["build"].version
    result = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert result.gold_version == second.version and result.deleted == 1
    assert stale_key not in _keys(s3)
    assert _json(s3, data.META_KEY)["gold_version"] == second.version
    assert _json(s3, data.summary_key())["gold_version"] == second.version


def test_without_gold_it_raises_for_a_retry(stack):
    s3 = stack["s3"]
    from services.common import keys

    s3.delete_object(Bucket=GOLD, Key=keys.GOLD_POINTER_KEY)
    with pytest.raises(FileNotFoundError):
        publish(s3, gold_bucket=GOLD, site_bucket=SITE)


def test_handler_publishes_and_announces(stack, monkeypatch):
    from events.models import Envelope, GoldPublished
    from services.publish_api import handler

    sent: list[Envelope] = []
    monkeypatch.setattr(handler.bus, "publish_one", sent.append)
    build = stack["build"]
    envelope = Envelope.build(
        GoldPublished(version=build.version, years=[2025], row_counts=build.row_counts), run_id="run-1", source="build_gold"
    )
    event = {"Records": [_sqs_record(envelope.model_dump_json())]}
    from infra.local.http_api import LambdaContext

    assert handler.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert handler.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}  # redelivery: no change
    assert [e.event_type for e in sent] == ["api.published", "api.published"]
    assert sent[0].detail == {"gold_version": build.version, "objects": _json(stack["s3"], data.META_KEY)["objects"]}
    assert sent[0].run_id == "run-1"

    # A bad record next to a good one is reported alone; the good one is still published.
    mixed = {"Records": [_sqs_record("not json", message_id="m2"), _sqs_record(envelope.model_dump_json(), "m3")]}
    assert handler.lambda_handler(mixed, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}


def _sqs_record(body: str, message_id: str = "m1") -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": "r",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x", "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:publish",
        "awsRegion": "us-east-1",
    }
