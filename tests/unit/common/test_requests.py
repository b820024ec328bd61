"""The request cuts: a conditional PUT instead of HEAD-then-PUT, one GET instead of HEAD-then-GET,
a breaker read every few seconds, one PublishBatch per SQS batch; each with its failure paths."""

from __future__ import annotations

import json

import boto3
import pytest

from events.models import DocumentUnchanged, Envelope


@pytest.fixture
def aws(moto_aws):
    boto3.client("s3").create_bucket(Bucket="bronze")


def test_put_if_absent_writes_once_with_one_conditional_put(aws):
    from services.common import storage

    assert storage.put_if_absent("bronze", "k.pdf", b"one", {"run-id": "r1"}, "application/pdf") is True
    assert storage.put_if_absent("bronze", "k.pdf", b"two", {"run-id": "r2"}, "application/pdf") is False
    body, meta = storage.get_bytes("bronze", "k.pdf")
    assert (body, meta["run-id"]) == (b"one", "r1")  # the first write stands
    with pytest.raises(Exception, match="NoSuchBucket"):
        storage.put_if_absent("no-such-bucket", "k", b"", {}, "text/plain")


def test_get_json_if_exists_answers_none_for_a_missing_key_and_raises_otherwise(aws):
    from services.common import storage

    assert storage.get_json_if_exists("bronze", "missing.json") is None
    storage.put_json("bronze", "there.json", {"a": 1})
    assert storage.get_json_if_exists("bronze", "there.json") == {"a": 1}
    with pytest.raises(Exception, match="NoSuchBucket"):
        storage.get_json_if_exists("no-such-bucket", "x.json")


def _envelope(doc_id: str) -> Envelope:
    return Envelope.build(DocumentUnchanged(doc_id=doc_id, year=2025, key="k", reason="same"), run_id="r", source="test")


def _topic_with_inbox():
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    arn = sns.create_topic(Name="events")["TopicArn"]
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return sqs, url


def _received(sqs, url) -> list[str]:
    out = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"])["detail"]["doc_id"] for m in batch]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(batch)])
    return sorted(out)


def test_batched_events_go_out_together_at_the_end_and_not_at_all_on_error(aws, monkeypatch):
    from services.common import bus

    sqs, url = _topic_with_inbox()
    sent: list[int] = []
    real = bus._flush
    monkeypatch.setattr(bus, "_flush", lambda sns, batch: sent.append(len(batch)) or real(sns, batch))
    with bus.batched():
        for i in range(12):
            bus.publish_one(_envelope(f"d{i:02}"))
        assert sent == [] and _received(sqs, url) == []  # held until the batch is done
    assert sent == [10, 2] and _received(sqs, url) == [f"d{i:02}" for i in range(12)]

    with pytest.raises(RuntimeError), bus.batched():
        bus.publish_one(_envelope("lost"))
        raise RuntimeError("the whole batch fails: it is retried, its events are not sent")
    assert _received(sqs, url) == []
    bus.publish_one(_envelope("now"))  # outside a batch: at once
    assert _received(sqs, url) == ["now"]


def test_one_event_held_twice_in_a_batch_goes_out_once(aws):
    """Two duplicate records in one SQS batch replay the same stored envelopes (same ids)."""
    from services.common import bus

    sqs, url = _topic_with_inbox()
    replayed = _envelope("twice")
    with bus.batched():
        bus.publish([replayed, _envelope("other")])
        bus.publish([replayed])
    assert _received(sqs, url) == ["other", "twice"]


def test_the_breaker_is_read_every_few_seconds_and_a_trip_is_seen_at_once(monkeypatch):
    from services.common import watermarks

    reads: list[int] = []
    monkeypatch.setattr(watermarks, "_get", lambda model, **parts: reads.append(1))
    saved: list[object] = []
    monkeypatch.setattr(watermarks.Breaker, "save", lambda self: saved.append(self))
    watermarks.forget_breaker()
    assert not watermarks.breaker_open() and not watermarks.breaker_open()
    assert len(reads) == 1
    watermarks.trip_breaker(900, "403")
    assert watermarks.breaker_open() and len(reads) == 1 and saved
    clock = [1000.0]
    monkeypatch.setattr(watermarks.time, "monotonic", lambda: clock[0])
    watermarks.forget_breaker()
    watermarks.breaker_open()
    clock[0] += watermarks.BREAKER_READ_EVERY_S
    watermarks.breaker_open()
    assert len(reads) == 3  # read again once the interval passed
    watermarks.forget_breaker()
