"""The watchdog fails a run for dead letters only when they are its own, and only once it is idle."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from events.models import Envelope, FilingDiscovered, RunRequested
from services.common import keys, queues
from services.common.tables import RunItem
from services.ledger import watchdog
from services.ledger.ledger import Ledger
from services.ledger.queries import get_run

OWNER = "20251126T070000Z-0000000a"
OTHER = "20251126T070500Z-0000000b"
LATER = datetime.now(UTC) + timedelta(hours=6)  # every run the tests start is idle by then, none stuck yet


@pytest.fixture
def dlqs(ledger_table, monkeypatch):
    sqs = boto3.client("sqs", region_name="us-east-1")
    urls = {name: sqs.create_queue(QueueName=f"t-{name}")["QueueUrl"] for name in ("fetch-dlq", "extract-dlq", "runs-dlq")}
    monkeypatch.setenv("DEAD_LETTER_QUEUES", ",".join(urls.values()))
    monkeypatch.setenv("RUN_IDLE_LIMIT_S", "900")
    monkeypatch.setenv("RUN_MAX_DURATION_S", str(24 * 3600))
    # In-process moto honours long polls: each pass's closing empty receive would wait 1 s.
    monkeypatch.setattr(queues, "RECEIVE_WAIT_S", 0)
    ledger = Ledger()
    for rid in (OWNER, OTHER):
        ledger.apply(Envelope.build(RunRequested(years=[2025], source_url="x"), run_id=rid, source="cli"))
    watchdog.metrics.drain()
    return sqs, urls


def envelope(run_id: str, doc_id: str = "20026590") -> str:
    filing = FilingDiscovered(doc_id=doc_id, year=2025, filing_type="P", filer_name="x", source_url="x")
    return Envelope.build(filing, run_id=run_id, source="discover").model_dump_json()


def status(run_id: str) -> tuple[str, str | None]:
    run = get_run(run_id)
    return run["status"], run.get("failure_reason")


def test_only_the_run_owning_the_dead_letters_fails(dlqs):
    sqs, urls = dlqs
    sqs.send_message(QueueUrl=urls["fetch-dlq"], MessageBody=envelope(OWNER, "1"))
    sqs.send_message(QueueUrl=urls["fetch-dlq"], MessageBody=envelope(OWNER, "2"))
    # A subscription without raw delivery would wrap the envelope in an SNS notification.
    sqs.send_message(QueueUrl=urls["extract-dlq"], MessageBody=json.dumps({"Type": "Notification", "Message": envelope(OWNER)}))

    announced = watchdog.check(now=LATER, report=True)

    assert [(e.event_type, e.run_id) for e in announced] == [("run.failed", OWNER)]
    assert status(OWNER) == ("failed", "messages in dead-letter queues: t-extract-dlq=1, t-fetch-dlq=2")
    assert status(OTHER) == ("running", None)
    assert watchdog.metrics.drain()["DeadLetterMessages"]["Value"] == [3.0]
    # Read, not consumed: the messages stay for the replay.
    depth = sqs.get_queue_attributes(QueueUrl=urls["fetch-dlq"], AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "2"


def test_dead_letters_naming_no_run_fail_nobody(dlqs, caplog):
    sqs, urls = dlqs
    sqs.send_message(QueueUrl=urls["fetch-dlq"], MessageBody="not json")
    sqs.send_message(QueueUrl=urls["runs-dlq"], MessageBody='{"trigger": "schedule"}')  # the nightly rule's tick
    sqs.send_message(QueueUrl=urls["extract-dlq"], MessageBody='{"Type": "Notification", "Message": "<html>"}')

    assert watchdog.check(now=LATER, report=True) == []

    assert status(OWNER) == status(OTHER) == ("running", None)
    assert watchdog.metrics.drain()["DeadLetterMessages"]["Value"] == [3.0]
    assert sorted(r.queue for r in caplog.records if r.getMessage() == "dead letters that name no run") == [
        "t-extract-dlq", "t-fetch-dlq", "t-runs-dlq"]
    # The max-duration rule still ends a run they strand.
    failed = watchdog.check(now=LATER + timedelta(days=1))
    assert {e.run_id for e in failed} == {OWNER, OTHER}
    assert status(OWNER) == ("failed", f"stuck: not settled within {24 * 3600}s")


def test_a_run_still_moving_is_not_failed_for_its_dead_letters(dlqs):
    sqs, urls = dlqs
    sqs.send_message(QueueUrl=urls["fetch-dlq"], MessageBody=envelope(OWNER))
    RunItem(f"RUN#{OWNER}", "RUN").update(actions=[RunItem.updated_at.set((LATER - timedelta(seconds=60)).isoformat())])

    assert watchdog.check(now=LATER) == []
    assert status(OWNER) == ("running", None)
    assert [e.run_id for e in watchdog.check(now=LATER + timedelta(minutes=15))] == [OWNER]


def test_a_bronze_event_in_extract_dlq_belongs_to_the_run_that_stored_the_pdf(dlqs):
    sqs, urls = dlqs
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="bronze")
    key = keys.pdf_key(2025, "P", "20026590", "a" * 64)
    s3.put_object(Bucket="bronze", Key=key, Body=b"%PDF-1.7", Metadata={"run-id": OTHER})
    event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "bronze"}, "object": {"key": key}}}]}
    sqs.send_message(QueueUrl=urls["extract-dlq"], MessageBody=json.dumps(event))

    assert [e.run_id for e in watchdog.check(now=LATER)] == [OTHER]
    assert status(OTHER) == ("failed", "messages in dead-letter queues: t-extract-dlq=1")
    assert status(OWNER) == ("running", None)


def test_a_settled_run_waiting_on_gold_fails_for_its_dead_letter(dlqs):
    sqs, urls = dlqs
    RunItem(f"RUN#{OWNER}", "RUN").update(actions=[RunItem.status.set("settled")])
    sqs.send_message(QueueUrl=urls["runs-dlq"], MessageBody=envelope(OWNER))

    assert [e.run_id for e in watchdog.check(now=LATER)] == [OWNER]
    assert status(OTHER) == ("running", None)


def test_before_any_success_freshness_counts_from_the_first_run(dlqs, monkeypatch):
    monkeypatch.setenv("RUN_MAX_DURATION_S", str(7 * 24 * 3600))
    # No run has published yet: the deployment has been stale since its first run started,
    # so the stale-data alarm gets a figure rather than nothing.
    now = LATER + timedelta(hours=47)
    watchdog.check(now=now, report=True)
    first_started = datetime.fromisoformat(min(get_run(r)["started_at"] for r in (OWNER, OTHER)))
    expected = (now - first_started).total_seconds() / 3600
    assert watchdog.metrics.drain()["DataFreshnessHours"]["Value"][0] == pytest.approx(expected, abs=0.01)


def test_no_run_ever_started_reports_no_freshness(ledger_table, monkeypatch):
    monkeypatch.setenv("DEAD_LETTER_QUEUES", "")
    watchdog.metrics.drain()
    watchdog.check(now=LATER, report=True)
    assert "DataFreshnessHours" not in watchdog.metrics.drain()


def test_a_run_whose_dead_letter_waits_behind_ten_of_another_run_fails_for_it(dlqs):
    sqs, urls = dlqs
    for n in range(15):
        sqs.send_message(QueueUrl=urls["fetch-dlq"], MessageBody=envelope(OTHER, str(n)))
    sqs.send_message(QueueUrl=urls["fetch-dlq"], MessageBody=envelope(OWNER))

    announced = watchdog.check(now=LATER)

    assert sorted(e.run_id for e in announced) == sorted([OWNER, OTHER])
    assert status(OWNER) == ("failed", "messages in dead-letter queues: t-fetch-dlq=1")
    assert status(OTHER) == ("failed", "messages in dead-letter queues: t-fetch-dlq=15")
    depth = sqs.get_queue_attributes(QueueUrl=urls["fetch-dlq"], AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "16"  # all visible again for a replay


def test_the_end_of_a_run_whose_announcement_was_lost_is_announced_again(dlqs):
    ledger = Ledger()
    [failed] = ledger.finish(OWNER, "failed", "stuck", expected="running")  # written; its publish then failed
    Ledger.announced([*ledger.finish(OTHER, "succeeded", None, expected="running")])
    assert watchdog.check(now=datetime.now(UTC)) == []  # within the grace: its publish may be in flight

    [again] = watchdog.check(now=datetime.now(UTC) + timedelta(minutes=5))
    assert (again.event_type, again.run_id, again.detail.reason) == ("run.failed", OWNER, "stuck")
    assert again.detail == failed.detail
    assert watchdog.check(now=datetime.now(UTC) + timedelta(days=2)) == []  # too old to help: left alone
    Ledger.announced([again])
    assert watchdog.check(now=datetime.now(UTC) + timedelta(minutes=5)) == []
