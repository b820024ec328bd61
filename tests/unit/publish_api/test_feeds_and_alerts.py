"""publish_api's Atom feeds (read back with feedparser) and trade alerts (SNS, filtered by policy)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from gold_env import NOW, build_gold, gold_stack, mirror_silver

from services.common import keys
from services.common.notice import USE_RESTRICTION
from services.publish_api import alerts, feeds
from services.publish_api.publish import publish

feedparser = pytest.importorskip("feedparser")

SITE, GOLD = "site", "gold"
PELOSI = "P000197"
NEW_DOC = "29990001"


@pytest.fixture(scope="module")
def stack():
    with gold_stack(publish=True, ledger=False) as env:
        yield env


def _feed(s3, key):
    obj = s3.get_object(Bucket=SITE, Key=key)
    assert obj["ContentType"].startswith("application/atom+xml")
    parsed = feedparser.parse(obj["Body"].read())
    assert not parsed.bozo, parsed.get("bozo_exception")  # well-formed Atom
    assert parsed.version == "atom10"
    return parsed


def test_feeds_of_the_latest_trades_per_member_and_per_ticker(stack):
    from services.api.app import store

    s3 = stack["s3"]
    latest = _feed(s3, keys.latest_feed_key())
    expected = [t["transaction_key"] for t in store.data().trades.to_pylist()]
    assert 0 < len(latest.entries) <= feeds.FEED_ENTRIES and len(latest.entries) == min(len(expected), feeds.FEED_ENTRIES)
    updated = [e.updated for e in latest.entries]
    assert updated == sorted(updated, reverse=True)  # newest disclosure first
    assert USE_RESTRICTION in latest.feed.subtitle  # the whole text, as the API and the site say it

    pelosi = _feed(s3, keys.member_feed_key(PELOSI))
    assert pelosi.feed.title == "Trades of Nancy Pelosi" and len(pelosi.entries) == 9
    assert {e.author for e in pelosi.entries} == {"Nancy Pelosi"}
    assert all(e.id.startswith("tag:house-trades,2025:trade/") for e in pelosi.entries)
    assert all(e.link.startswith("/#/filing/2025-20026590") for e in pelosi.entries)
    assert len({e.id for e in pelosi.entries}) == 9

    nvda = _feed(s3, keys.ticker_feed_key("NVDA"))
    assert len(nvda.entries) == 5 and {e.tags[0].term for e in nvda.entries} == {"NVDA"}
    assert any("Nancy Pelosi" in e.title and "NVDA" in e.title for e in nvda.entries)


def test_feeds_are_rewritten_only_when_they_change(stack, tmp_path):
    import shutil

    from services.api.app import store
    from services.publish_api.publish import STATIC_DIR

    s3 = stack["s3"]
    # The site changes, its data does not: the version is published again, its feeds are not.
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static)
    (static / "changed.txt").write_text("a new static file\n")
    written: list[str] = []

    def record(params: dict, **_: object) -> None:
        written.append(params["Key"])

    s3.meta.events.register("before-parameter-build.s3.PutObject", record)
    try:
        result = publish(s3, gold_bucket=GOLD, site_bucket=SITE, static_root=static)
    finally:
        s3.meta.events.unregister("before-parameter-build.s3.PutObject", record)
        publish(s3, gold_bucket=GOLD, site_bucket=SITE)  # the site as the other tests expect it
    assert not result.already_published and "changed.txt" in written
    feed_keys = set(feeds.all_feeds(store.data()))
    assert keys.latest_feed_key() in feed_keys and not feed_keys & set(written)


def test_amount_bands_and_attributes():
    trade = {"transaction_key": "k1", "member_key": "filer-x", "bioguide_id": None, "ticker": None, "party": None,
             "state_district": "TX07", "side": "buy", "amount_low": 50000001.0, "amount_high": None}
    attrs = alerts.attributes(trade)
    assert attrs["amount_band"]["StringValue"] == "50000001-"
    assert attrs["member"]["StringValue"] == "filer-x" and attrs["state"]["StringValue"] == "TX"
    assert "ticker" not in attrs and "party" not in attrs  # SNS refuses empty attribute values
    assert attrs["amount_low"] == {"DataType": "Number", "StringValue": "50000001"}


def _add_new_filing(s3, *, copy: bool):
    """A later PTR of Pelosi's: her golden trades under a new DocID, as a copy (the same trades filed
    again, counted once) or as new trades (other dates)."""
    snapshot, records = mirror_silver()
    record = json.loads(json.dumps(next(r for r in records if r["doc_id"] == "20026590")))
    record |= {"doc_id": NEW_DOC, "filing_date": "2025-02-20",
               "source_url": f"https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2025/{NEW_DOC}.pdf"}
    if not copy:
        for n, row in enumerate(record["ptr"]["transactions"], start=1):
            row["transaction_date"] = row["notification_date"] = f"2025-02-{n:02d}"
    entry = next(f for f in snapshot["filings"] if f["doc_id"] == "20026590") | {"doc_id": NEW_DOC, "filing_date": "2025-02-20"}
    snapshot["filings"].append(entry)
    s3.put_object(Bucket="silver", Key=keys.filings_key(2025), Body=json.dumps(snapshot).encode())
    s3.put_object(Bucket="silver", Key=keys.document_key(2025, NEW_DOC), Body=json.dumps(record).encode())
    return len(record["ptr"]["transactions"])


def test_each_publish_announces_only_its_new_trades_filtered_by_policy(stack):
    import boto3

    s3 = stack["s3"]
    sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="trade-alerts")["TopicArn"]

    def subscriber(name, policy):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                      Attributes={"FilterPolicy": json.dumps(policy), "RawMessageDelivery": "false"})
        return url

    nvda, everything, nobody = subscriber("nvda", {"ticker": ["NVDA"]}), subscriber("all", {"member": [PELOSI]}), \
        subscriber("none", {"ticker": ["ZZZZ"]})

    def drain(url):
        out = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages"):
            out += [json.loads(m["Body"]) for m in batch]
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
        return out

    # republishing the live version announces nothing (its marker: the baseline)
    first = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW, sns=sns, alerts_topic_arn=topic)
    assert first.alerts_sent == 0

    # the same trades filed again count once: nothing new to announce
    _add_new_filing(s3, copy=True)
    build_gold(s3, now=datetime(2025, 11, 27, 8, 0, tzinfo=NOW.tzinfo), run_id="run-2")
    assert publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW, sns=sns, alerts_topic_arn=topic).alerts_sent == 0
    assert drain(everything) == []

    new = _add_new_filing(s3, copy=False)
    build_gold(s3, now=datetime(2025, 11, 28, 8, 0, tzinfo=NOW.tzinfo), run_id="run-3")
    result = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW, sns=sns, alerts_topic_arn=topic)
    assert result.alerts_sent == new == 9

    all_pelosi = drain(everything)
    assert len(all_pelosi) == 9 and all(m["MessageAttributes"]["member"]["Value"] == PELOSI for m in all_pelosi)
    assert all("Nancy Pelosi" in m["Subject"] and m["Message"].endswith(USE_RESTRICTION) for m in all_pelosi)
    only_nvda = drain(nvda)
    assert only_nvda and {m["MessageAttributes"]["ticker"]["Value"] for m in only_nvda} == {"NVDA"}
    assert len(only_nvda) == sum(m["MessageAttributes"].get("ticker", {}).get("Value") == "NVDA" for m in all_pelosi)
    assert {m["MessageAttributes"]["party"]["Value"] for m in all_pelosi} == {"Democrat"}
    assert {m["MessageAttributes"]["state"]["Value"] for m in all_pelosi} == {"CA"}
    assert drain(nobody) == []

    # the same event again (a retry, a duplicate): nothing announced twice
    again = publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW, sns=sns, alerts_topic_arn=topic)
    assert again.alerts_sent == 0 and drain(everything) == []
    # even when the meta flip had not happened yet: the version's marker holds

    meta = json.loads(s3.get_object(Bucket=SITE, Key=keys.SITE_META_KEY)["Body"].read())
    s3.put_object(Bucket=SITE, Key=keys.SITE_META_KEY, Body=json.dumps({**meta, "gold_version": "older"}).encode())
    assert publish(s3, gold_bucket=GOLD, site_bucket=SITE, now=NOW, sns=sns, alerts_topic_arn=topic).alerts_sent == 0
    assert drain(everything) == []
