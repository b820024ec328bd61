"""`disclosures dlq list`: the oldest dead letter's age is read from every message, not a sample."""

from __future__ import annotations

import time

import boto3
import pytest
from moto import mock_aws

from infra.ops import dlq

HOUR_MS = 3_600_000


@pytest.fixture
def sqs(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def fill(sqs, url: str, count: int, oldest_at: int) -> None:
    """`count` messages sent a minute ago, except the one at `oldest_at`, sent three hours ago."""
    now_ms = int(time.time() * 1000)
    with pytest.MonkeyPatch.context() as patch:
        for n in range(count):
            sent = now_ms - (3 * HOUR_MS if n == oldest_at else 60_000)
            patch.setattr("moto.sqs.models.unix_time_millis", lambda sent=sent: sent)
            sqs.send_message(QueueUrl=url, MessageBody=f'{{"n": {n}}}')


def visible(sqs, url: str) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])


def test_the_oldest_age_is_exact_beyond_the_first_ten_messages(sqs):
    source = sqs.create_queue(QueueName="t-fetch")["QueueUrl"]
    url = sqs.create_queue(QueueName="t-fetch-dlq")["QueueUrl"]
    empty = sqs.create_queue(QueueName="t-extract-dlq")["QueueUrl"]
    fill(sqs, url, 25, oldest_at=17)

    by_name = {i.name: i for i in dlq.describe(sqs, {source: url, "src2": empty})}

    info = by_name["t-fetch-dlq"]
    assert info.depth == 25 and info.oldest_exact is True
    assert info.oldest_age_s == pytest.approx(3 * 3600, abs=5)
    assert (by_name["t-extract-dlq"].oldest_age_s, by_name["t-extract-dlq"].oldest_exact) == (None, None)
    # Every message read is visible again at once: a replay right after moves them all.
    assert visible(sqs, url) == 25
    assert dlq.replay_local(sqs, url, source) == 25


def test_a_bounded_read_says_its_age_is_a_lower_bound(sqs):
    url = sqs.create_queue(QueueName="t-fetch-dlq")["QueueUrl"]
    fill(sqs, url, 25, oldest_at=17)

    age, exact = dlq.oldest_age(sqs, url, depth=25, limit=12)

    assert exact is False and age == pytest.approx(60, abs=5)  # the oldest of the twelve read
    assert visible(sqs, url) == 25
