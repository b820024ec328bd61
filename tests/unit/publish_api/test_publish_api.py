"""publish_api: versioned answers and the meta flip, no mixed reads, GC, idempotency, the handler."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from gold_env import NOW, build_gold, gold_stack

from infra.local.http_api import LambdaContext, http_event
from services.common import keys
from services.publish_api import publish as publish_module
from services.publish_api.publish import publish
from services.read_model import data

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


def call(path):
    from services.api.handler import lambda_handler

    response = lambda_handler(http_event(path, None), LambdaContext())
    assert response["statusCode"] == 200, response
    return json.loads(response["body"])


def _versions(s3):
    return len(s3.list_object_versions(Bucket=SITE).get("Versions", []))


def _prefix(version):
    return keys.answers_prefix(version)


def _answer_versions(s3):
    return {keys.answers_version(k) for k in _keys(s3, keys.API_PREFIX)}


def test_precomputed_objects_and_meta(stack):
    s3 = stack["s3"]
    version = stack["build"].version
    result = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert result.gold_version == version and not result.already_published

    meta = _json(s3, keys.SITE_META_KEY)
    assert meta["gold_version"] == version and meta["answers_prefix"] == _prefix(version) == f"api/v1/versions/{version}/"
    assert meta["previous_gold_version"] is None
    assert meta["built_at"] == NOW.isoformat() and meta["published_at"] == NOW.isoformat(timespec="seconds")
    assert meta["row_counts"]["fact_transactions"] == 72
    assert meta["objects"] == result.objects

    prefix = meta["answers_prefix"]
    summary = _json(s3, prefix + keys.summary_key())
    assert summary["totals"]["trades"] == 72 and summary["gold_version"] == version
    assert len(_json(s3, prefix + keys.latest_trades_key())["items"]) == 50
    for window in (7, 30, 90):
        assert _json(s3, prefix + keys.trending_key(window))["window_days"] == window
    pelosi = _json(s3, prefix + keys.member_key_of("P000197"))
    assert pelosi["member"]["name"] == "Nancy Pelosi" and len(pelosi["trades"]) == 9
    nvda = _json(s3, prefix + keys.ticker_key_of("NVDA"))
    assert nvda["ticker"]["trades"] == 5
    members = _keys(s3, prefix + "members/")
    tickers = _keys(s3, prefix + "tickers/")
    assert len(members) == meta["members"] and len(tickers) == meta["tickers"] == 35
    # a ticker with a dot stays one key
    assert prefix + keys.ticker_key_of("BRK.B") in tickers
    assert _answer_versions(s3) == {version}  # every answer is under the version's prefix

    # the website is at the bucket root, with content types a browser accepts
    head = s3.head_object(Bucket=SITE, Key="index.html")
    assert head["ContentType"].startswith("text/html")
    assert s3.head_object(Bucket=SITE, Key="app.js")["ContentType"].startswith(("application/javascript", "text/javascript"))


def test_same_version_twice_changes_nothing(stack):
    s3 = stack["s3"]
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    versions = _versions(s3)
    meta = _json(s3, keys.SITE_META_KEY)
    again = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=datetime(2025, 11, 27, tzinfo=UTC))
    assert again.already_published and again.written == 0
    assert _versions(s3) == versions and _json(s3, keys.SITE_META_KEY) == meta


def _crash_before_the_flip(monkeypatch):
    def crash(*_args, **_kwargs):
        raise ConnectionError("died before the meta")

    monkeypatch.setattr(publish_module, "_put_meta", crash)


def test_a_retry_after_a_crash_rewrites_only_what_is_missing(stack, monkeypatch):
    s3 = stack["s3"]
    with monkeypatch.context() as patched:
        _crash_before_the_flip(patched)
        with pytest.raises(ConnectionError):
            publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert _keys(s3, keys.SITE_META_KEY) == []  # nothing is live yet
    prefix = _prefix(stack["build"].version)
    s3.delete_object(Bucket=SITE, Key=prefix + keys.summary_key())  # as if it died while writing
    result = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert result.written == 2  # the summary and the meta; every other object was already there
    assert _json(s3, keys.SITE_META_KEY)["answers_prefix"] == prefix


def _store():
    """An API instance that has just started: it reads the meta and every answer from the bucket."""
    return data.LiveStore(lambda: boto3.client("s3", region_name="us-east-1"), ttl_s=0)


def _served(s3, member="P000197"):
    """(data version, summary's version, member answer) as a fresh API instance and the API's routes serve them."""
    from services.api.app import store

    fresh = _store()
    version = fresh.data().version
    summary = fresh.answer(keys.summary_key(), data.summary)
    detail = fresh.answer(keys.member_key_of(member), lambda g: data.member_detail(g, member))
    store.reset()  # the app's own instance, through its handler (its response cache starts afresh too)
    assert call("/v1/health")["gold_version"] == version
    assert call("/v1/summary")["gold_version"] == summary["gold_version"]
    return version, summary["gold_version"], detail


def test_a_reader_never_mixes_versions_while_a_publish_is_under_way(stack, monkeypatch):
    s3 = stack["s3"]
    v1 = stack["build"].version
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    v1_member = _json(s3, _prefix(v1) + keys.member_key_of("P000197"))
    v2 = build_gold(s3, now=datetime(2025, 11, 27, 8, 0, tzinfo=UTC), run_id="run-2").version
    assert v2 != v1

    seen = []
    flip = publish_module._put_meta

    def between_answers_and_flip(*args, **kwargs):
        # Every answer of v2 is in the bucket, the meta still names v1: readers keep v1 throughout.
        assert _json(s3, _prefix(v2) + keys.summary_key())["gold_version"] == v2
        seen.append(_served(s3))
        flip(*args, **kwargs)

    monkeypatch.setattr(publish_module, "_put_meta", between_answers_and_flip)
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert seen == [(v1, v1, v1_member)]
    version, summary_version, member = _served(s3)
    assert (version, summary_version) == (v2, v2)
    assert member == _json(s3, _prefix(v2) + keys.member_key_of("P000197"))


def test_a_crash_before_the_flip_leaves_the_old_version_whole(stack, monkeypatch):
    s3 = stack["s3"]
    v1 = stack["build"].version
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    v2 = build_gold(s3, now=datetime(2025, 11, 27, 8, 0, tzinfo=UTC), run_id="run-2").version
    with monkeypatch.context() as patched:
        _crash_before_the_flip(patched)
        with pytest.raises(ConnectionError):
            publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert _served(s3)[:2] == (v1, v1) and _answer_versions(s3) == {v1, v2}
    retry = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert retry.gold_version == v2 and retry.written == 1  # only the meta was missing
    assert _served(s3)[:2] == (v2, v2)


def test_gc_keeps_the_live_and_the_previous_version(stack):
    s3 = stack["s3"]
    v1 = stack["build"].version
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    v1_answers = len(_keys(s3, _prefix(v1)))
    # The in-place layout of earlier releases, and a newer version a concurrent publish is writing.
    legacy = keys.API_PREFIX + keys.summary_key()
    writing = _prefix("29991231T000000Z-00000000") + keys.summary_key()
    for key in (legacy, writing):
        s3.put_object(Bucket=SITE, Key=key, Body=b"{}")

    v2 = build_gold(s3, now=datetime(2025, 11, 27, 8, 0, tzinfo=UTC), run_id="run-2").version
    second = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert second.deleted == 1 and legacy not in _keys(s3)  # v1 stays: instances may still hold its meta
    assert _answer_versions(s3) == {v1, v2, "29991231T000000Z-00000000"}
    assert _json(s3, keys.SITE_META_KEY)["previous_gold_version"] == v1

    v3 = build_gold(s3, now=datetime(2025, 11, 28, 8, 0, tzinfo=UTC), run_id="run-3").version
    third = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    assert third.deleted == v1_answers
    assert _answer_versions(s3) == {v2, v3, "29991231T000000Z-00000000"}
    meta = _json(s3, keys.SITE_META_KEY)
    assert (meta["gold_version"], meta["previous_gold_version"]) == (v3, v2)
    assert _served(s3)[:2] == (v3, v3)


def test_new_static_files_republish_the_live_version_and_keep_the_previous(stack, tmp_path):
    s3 = stack["s3"]
    v1 = stack["build"].version
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    v2 = build_gold(s3, now=datetime(2025, 11, 27, 8, 0, tzinfo=UTC), run_id="run-2").version
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    (tmp_path / "index.html").write_text("<!doctype html><title>new site</title>")
    result = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW, static_root=tmp_path)
    assert not result.already_published and result.written == 2 and result.deleted == 0  # index.html, meta
    meta = _json(s3, keys.SITE_META_KEY)
    assert (meta["gold_version"], meta["previous_gold_version"]) == (v2, v1)
    assert _answer_versions(s3) == {v1, v2}


def test_a_build_that_overtakes_the_publish_is_the_one_published(stack, monkeypatch):
    s3 = stack["s3"]
    v1 = stack["build"].version
    publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    v2 = build_gold(s3, now=datetime(2025, 11, 27, 8, 0, tzinfo=UTC), run_id="run-2").version
    builds = []
    put_all = publish_module._put_all

    def a_build_lands_meanwhile(*args, **kwargs):
        written = put_all(*args, **kwargs)
        if not builds:
            builds.append(build_gold(s3, now=datetime(2025, 11, 28, 8, 0, tzinfo=UTC), run_id="run-3").version)
        return written

    monkeypatch.setattr(publish_module, "_put_all", a_build_lands_meanwhile)
    result = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW)
    v3 = builds[0]
    assert result.gold_version == v3
    meta = _json(s3, keys.SITE_META_KEY)
    assert (meta["gold_version"], meta["previous_gold_version"]) == (v3, v1)
    # v2 was written but never live; the next version's publish collects it.
    assert _answer_versions(s3) == {v1, v2, v3}


def test_without_gold_it_raises_for_a_retry(stack):
    s3 = stack["s3"]
    from services.common import keys

    s3.delete_object(Bucket=GOLD, Key=keys.GOLD_POINTER_KEY)
    with pytest.raises(FileNotFoundError):
        publish(s3, gold_bucket=GOLD, site_bucket=SITE)


def test_handler_publishes_and_announces(stack, monkeypatch):
    from events.models import ApiPublished, Envelope, GoldPublished, RunDocumentsSettled
    from services.common import bus
    from services.publish_api import handler

    sent: list[Envelope] = []
    monkeypatch.setattr(bus, "publish", sent.extend)
    build = stack["build"]
    envelope = Envelope.build(
        GoldPublished(version=build.version, years=[2025], row_counts=build.row_counts), run_id="run-1", source="build_gold"
    )
    event = {"Records": [_sqs_record(envelope.model_dump_json())]}
    assert handler.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert handler.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}  # redelivery: no change
    assert [e.event_type for e in sent] == ["api.published", "api.published"]
    objects = _json(stack["s3"], keys.SITE_META_KEY)["objects"]
    # The first wrote every object and the meta that flips to it; the redelivery wrote nothing.
    assert sent[0].detail == ApiPublished(gold_version=build.version, objects=objects, written=objects + 1)
    assert sent[1].detail == ApiPublished(gold_version=build.version, objects=objects, written=0)
    assert sent[0].run_id == "run-1"

    # A bad record next to a good one is reported alone; the good one is still published.
    # So is a well-formed event the publish queue never takes (a poison pill: to its DLQ).
    settled = Envelope.build(RunDocumentsSettled(years=[2025], documents=1, counts={}), run_id="run-1", source="ledger")
    mixed = {"Records": [_sqs_record("not json", message_id="m2"), _sqs_record(envelope.model_dump_json(), "m3"),
                         _sqs_record(settled.model_dump_json(), "m4")]}
    assert handler.lambda_handler(mixed, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "m2"},
                                                                                    {"itemIdentifier": "m4"}]}
    assert len(sent) == 3


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
