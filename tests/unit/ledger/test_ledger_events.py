"""What the ledger does with an event it cannot record, and with a run that recovers."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import ApiPublished, Envelope, RunRequested, parse_event
from services.common.aws import client
from services.common.tables import LedgerTable, RunItem
from services.ledger.ledger import Ledger
from tests.unit.ledger.test_ledger_index import request, settle


@pytest.fixture
def dlq(ledger_table, monkeypatch) -> str:

    url = client("sqs").create_queue(QueueName="ledger-dlq")["QueueUrl"]
    monkeypatch.setenv("LEDGER_DLQ_URL", url)
    return url


def _record(body: str) -> SQSRecord:
    return SQSRecord({"messageId": "m-1", "body": body, "attributes": {}, "messageAttributes": {}})


def _dead_letters(url: str) -> list[dict]:
    return client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                         MessageAttributeNames=["All"]).get("Messages", [])


def _valid(**detail) -> dict:
    event = Envelope.build(RunRequested(years=[2025], source_url="x"), run_id="20251201T000000Z-bad", source="cli")
    return {**json.loads(event.model_dump_json()), **detail}


@pytest.mark.parametrize(("body", "says"), [
    (json.dumps(_valid(detail={"years": [], "source_url": "x"})), "detail"),  # fails RunRequested: no year
    (json.dumps(_valid(event_type="run.exploded")), "event_type"),
    (json.dumps({k: v for k, v in _valid().items() if k != "source"}), "source"),
    ("not json at all", "invalid event"),
])
def test_an_invalid_event_goes_to_the_dlq_with_its_reason_and_makes_no_run(dlq, body, says):
    from services.ledger.handler import parse, record_batch

    event, reason = parse(body)
    assert event is None and says in reason
    assert record_batch([_record(body)]) == []  # consumed: bad input is not retried

    assert list(LedgerTable.scan()) == []  # no run, not even a failed one
    [letter] = _dead_letters(dlq)
    assert letter["Body"] == body
    reason = letter["MessageAttributes"]["reason"]["StringValue"]
    assert reason.startswith("invalid event: ") and says in reason


def test_a_valid_event_is_recorded_and_nothing_is_dead_lettered(dlq):
    from services.ledger.handler import parse, record_batch

    body = json.dumps(_valid())
    event, reason = parse(body)
    assert reason is None and event is not None and event.event_type == "run.requested"
    assert record_batch([_record(body)]) == []
    assert RunItem.get("RUN#20251201T000000Z-bad", "RUN").status == "running"
    assert _dead_letters(dlq) == []


def test_an_event_with_an_invalid_detail_cannot_reach_the_ledger(ledger_table):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"run.requested`?\.detail\.years"):
        parse_event(_valid(detail={"years": []}))
    assert list(LedgerTable.scan()) == []


def _published(ledger: Ledger, rid: str, written: int = 1) -> list[Envelope]:
    published = ApiPublished(gold_version="v1", objects=2_000, written=written)
    return ledger.apply(Envelope.build(published, run_id=rid, source="publish_api"))


def test_a_run_keeps_how_many_objects_its_publication_wrote_and_prices_them(ledger_table):
    from services.ledger.cost import API_OBJECTS, run_usage
    from services.ledger.queries import get_run

    ledger, rid = Ledger(), "20251201T000000Z-00000005"
    request(ledger, rid)
    settle(ledger, rid)
    before = get_run(rid)
    assert before is not None
    _published(ledger, rid, written=184)
    _published(ledger, rid, written=0)  # a redelivery: it wrote nothing, and changes nothing
    run = get_run(rid)
    assert run is not None and run["api_written"] == 184 and "api_written" not in run["counts"]
    # Priced as written, not as the model's guess for a run that has no count.
    assert run_usage(run)["s3_puts"] - run_usage({**before, "status": "succeeded"})["s3_puts"] == 184 - API_OBJECTS


def test_a_run_ends_with_its_gold_version_even_when_gold_published_comes_later(ledger_table):
    """Two ledger invocations at once: the site's publication may be recorded before the Gold
    publication it follows. The run that ends names its version all the same."""
    from events.models import GoldPublished

    ledger, rid = Ledger(), "20251201T000000Z-00000004"
    request(ledger, rid)
    settle(ledger, rid)
    [succeeded] = _published(ledger, rid)
    run = RunItem.get(f"RUN#{rid}", "RUN")
    assert succeeded.event_type == "run.succeeded" and (run.status, run.gold_version) == ("succeeded", "v1")
    ledger.apply(Envelope.build(GoldPublished(version="v1", years=[2025], row_counts={}), run_id=rid, source="build_gold"))
    assert RunItem.get(f"RUN#{rid}", "RUN").gold_version == "v1"


def test_a_run_failed_while_settled_that_recovers_drops_its_failure_reason(ledger_table):
    ledger, rid = Ledger(), "20251201T000000Z-00000001"
    request(ledger, rid)
    settle(ledger, rid)
    # The watchdog fails it while Gold waits in a DLQ; after the replay Gold is published.
    ledger.finish(rid, "failed", "messages in dead-letter queues: gold-dlq=1", expected=("running", "settled"))
    [succeeded] = _published(ledger, rid)

    assert succeeded.event_type == "run.succeeded"
    run = RunItem.get(f"RUN#{rid}", "RUN")
    assert run.status == "succeeded" and run.failure_reason is None
    assert "recovered from: messages in dead-letter queues: gold-dlq=1" in run.errors


def test_a_run_failed_while_running_that_settles_drops_its_failure_reason(ledger_table):
    ledger, rid = Ledger(), "20251201T000000Z-00000002"
    request(ledger, rid)
    ledger.finish(rid, "failed", "messages in dead-letter queues: fetch-dlq=1", expected=("running", "settled"))
    assert RunItem.get(f"RUN#{rid}", "RUN").failure_reason

    [settled] = settle(ledger, rid)  # the replayed fetch: every document terminal
    assert settled.event_type == "run.documents_settled"
    run = RunItem.get(f"RUN#{rid}", "RUN")
    assert run.status == "settled" and run.failure_reason is None
    _published(ledger, rid)
    run = RunItem.get(f"RUN#{rid}", "RUN")
    assert run.status == "succeeded" and run.failure_reason is None
    assert run.errors.count("recovered from: messages in dead-letter queues: fetch-dlq=1") == 1


def test_a_run_that_fails_again_keeps_the_newer_reason(ledger_table):
    ledger, rid = Ledger(), "20251201T000000Z-00000003"
    request(ledger, rid)
    settle(ledger, rid)
    ledger.finish(rid, "failed", "stuck", expected=("running", "settled"))
    ledger.finish(rid, "failed", "quality gate rejected gold v2: row_counts", expected=("failed",))
    assert RunItem.get(f"RUN#{rid}", "RUN").failure_reason == "quality gate rejected gold v2: row_counts"


def test_a_duplicate_run_request_leaves_the_run_untouched(ledger_table):
    ledger, rid = Ledger(), "20251201T000000Z-00000004"
    request(ledger, rid)
    before = RunItem.get(f"RUN#{rid}", "RUN").serialize()
    request(ledger, rid)
    assert RunItem.get(f"RUN#{rid}", "RUN").serialize() == before  # updated_at included
