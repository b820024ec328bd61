"""`disclosures dlq list`: the oldest dead letter's age is read from every message, not a sample."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.ops import dlq
from services.common import queues

HOUR_MS = 3_600_000


@pytest.fixture
def sqs(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # In-process moto honours long polls: each pass's closing empty receive would wait 1 s.
    monkeypatch.setattr(queues, "RECEIVE_WAIT_S", 0)
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


class FlakyRelease:
    """The SQS client, except that making messages visible again fails: the first batch call
    raises, the second reports one entry failed."""

    def __init__(self, sqs) -> None:
        self.sqs, self.calls = sqs, 0

    def __getattr__(self, name):
        return getattr(self.sqs, name)

    def change_message_visibility_batch(self, **kwargs):
        self.calls += 1
        if self.calls == 1:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ChangeMessageVisibilityBatch")
        if self.calls == 2:
            response = self.sqs.change_message_visibility_batch(**{**kwargs, "Entries": kwargs["Entries"][1:]})
            return {**response, "Failed": [{"Id": "0", "Code": "ReceiptHandleIsInvalid", "SenderFault": True}]}
        return self.sqs.change_message_visibility_batch(**kwargs)


def test_messages_a_failed_release_misses_are_logged_and_the_rest_released(sqs, caplog):
    url = sqs.create_queue(QueueName="t-fetch-dlq")["QueueUrl"]
    fill(sqs, url, 25, oldest_at=17)
    flaky = FlakyRelease(sqs)

    age, exact = dlq.oldest_age(flaky, url, depth=25)

    assert exact is True and age == pytest.approx(3 * 3600, abs=5)
    assert flaky.calls == 3  # a failed batch does not stop the next ones
    assert visible(sqs, url) == 25 - 10 - 1
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("11 message(s) of t-fetch-dlq could not be made visible again")
    assert "AccessDenied" in warning and "ReceiptHandleIsInvalid" in warning


def test_a_replay_waits_for_messages_a_concurrent_read_hides(sqs):
    source = sqs.create_queue(QueueName="t-fetch")["QueueUrl"]
    url = sqs.create_queue(QueueName="t-fetch-dlq")["QueueUrl"]
    fill(sqs, url, 15, oldest_at=0)
    # A `dlq list` or watchdog pass holds these while the replay starts.
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1)

    assert dlq.replay_local(sqs, url, source) == 15
    assert visible(sqs, source) == 15


def test_a_replay_waits_for_hidden_messages_only_so_long(sqs, monkeypatch):
    source = sqs.create_queue(QueueName="t-fetch")["QueueUrl"]
    url = sqs.create_queue(QueueName="t-fetch-dlq")["QueueUrl"]
    fill(sqs, url, 15, oldest_at=0)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
    monkeypatch.setattr(dlq, "HIDDEN_WAIT_S", 0.5)

    started = time.monotonic()
    assert dlq.replay_local(sqs, url, source) == 5
    assert time.monotonic() - started < 3
