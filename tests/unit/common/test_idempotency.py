"""`idempotency.once`: the work of one request is done once, however often it is delivered."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from events.models import DocumentUnchanged, Envelope
from services.common import idempotency


@pytest.fixture
def table(moto_aws, monkeypatch):
    from services.common import aws

    monkeypatch.setenv(idempotency.TABLE_ENV, "idempotency")
    aws.client("dynamodb").create_table(
        TableName="idempotency", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )  # fmt: skip
    return aws.client("dynamodb")


@dataclass
class Context:
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _event(doc_id: str = "1") -> Envelope:
    return Envelope.build(DocumentUnchanged(doc_id=doc_id, year=2025, key="k", reason="r"), run_id="run", source="t")


def test_a_duplicate_gets_the_saved_events_without_doing_the_work(table):
    calls = []

    def work() -> list[Envelope]:
        calls.append(1)
        return [_event()]

    first = idempotency.once("extract", {"run_id": "run", "key": "1"}, work, Context())
    again = idempotency.once("extract", {"run_id": "run", "key": "1"}, work, Context())
    assert calls == [1]
    assert not first.repeated and again.repeated
    assert again.events == first.events  # the same event, event id included
    other = idempotency.once("extract", {"run_id": "run", "key": "2"}, work, Context())
    assert not other.repeated and calls == [1, 1]
    # Another stage with the same key is other work.
    assert not idempotency.once("build_gold", {"run_id": "run", "key": "1"}, work, Context()).repeated


def test_failed_work_is_done_again_on_retry(table):
    attempts = []

    def work() -> list[Envelope]:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("the source is down")
        return []

    with pytest.raises(ConnectionError):
        idempotency.once("extract", {"run_id": "run", "key": "1"}, work, Context())
    assert idempotency.once("extract", {"run_id": "run", "key": "1"}, work, Context()).events == []
    assert len(attempts) == 2


def test_a_duplicate_during_the_work_waits_for_its_result(table, monkeypatch):
    monkeypatch.setattr(idempotency, "POLL_S", 0.05)
    started, release = threading.Event(), threading.Event()
    calls = []

    def work() -> list[Envelope]:
        calls.append(1)
        started.set()
        release.wait(10)
        return [_event()]

    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", idempotency.once("gold", {"run_id": "r"}, work,
                                                                                         Context())))
    first.start()
    assert started.wait(10)
    threading.Timer(0.3, release.set).start()
    duplicate = idempotency.once("gold", {"run_id": "r"}, work, Context())
    first.join(10)
    assert calls == [1]
    assert duplicate.repeated and duplicate.events == results["first"].events


def test_a_duplicate_gives_up_waiting_before_its_own_deadline(table, monkeypatch):
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    monkeypatch.setattr(idempotency, "POLL_S", 0.05)
    started, release = threading.Event(), threading.Event()

    def work() -> list[Envelope]:
        started.set()
        release.wait(10)
        return []

    first = threading.Thread(target=lambda: idempotency.once("gold", {"run_id": "r"}, work, Context()))
    first.start()
    assert started.wait(10)
    try:
        # Its invocation has less time left than the margin: it fails at once, to be retried later.
        with pytest.raises(IdempotencyAlreadyInProgressError):
            idempotency.once("gold", {"run_id": "r"}, work, Context(remaining_ms=int(idempotency.MARGIN_S * 1000)))
    finally:
        release.set()
        first.join(10)
