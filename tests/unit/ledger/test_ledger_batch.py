"""The ledger records an SQS batch together: a run's document events in one transaction, one read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import ClientError

from events.models import (
    ApiPublished,
    DocumentExtracted,
    DocumentFailed,
    DocumentStored,
    Envelope,
    FilingDiscovered,
    RunDiscovered,
    RunRequested,
)
from infra.local.http_api import LambdaContext
from services.common.tables import RunDocumentItem, RunItem
from services.ledger.ledger import Ledger, run_pk

RUN_A = "20251201T000000Z-batch00a"
RUN_B = "20251201T000000Z-batch00b"


@dataclass
class Ledgered:
    """The ledger's Lambda handler with a fresh ledger; what it published; the DynamoDB requests."""

    calls: list[str]
    published: list[Envelope] = field(default_factory=list)
    deliveries: int = 0

    def invoke(self, events: list[Envelope] | list[Envelope | str]) -> list[Envelope | str]:
        """Deliver these events (or raw bodies) as one SQS batch; return those reported as failed."""
        from services.ledger import handler

        self.deliveries += 1
        records = [{"messageId": f"m{self.deliveries}-{n}", "body": e if isinstance(e, str) else e.model_dump_json(), "attributes": {},
                    "messageAttributes": {}} for n, e in enumerate(events)]
        failed = handler.lambda_handler({"Records": records}, LambdaContext())["batchItemFailures"]
        failed_ids = {f["itemIdentifier"] for f in failed}
        return [e for r, e in zip(records, events, strict=True) if r["messageId"] in failed_ids]


@pytest.fixture
def ledgered(ledger_table, monkeypatch) -> Ledgered:
    from services.ledger import handler

    out = Ledgered(ledger_table)
    monkeypatch.setattr(handler, "ledger", Ledger())  # its runs ensured in this test's table
    monkeypatch.setattr(handler.bus, "publish", out.published.extend)
    return out


def _doc(n: int) -> str:
    return f"{20000000 + n}"


def start(rid: str, docs: int) -> list[Envelope]:
    return [Envelope.build(RunRequested(years=[2025], source_url="x"), run_id=rid, source="cli"),
            Envelope.build(RunDiscovered(year=2025, index_status="changed", dispatched=docs), run_id=rid, source="discover")]


def filing(rid: str, n: int) -> Envelope:
    return Envelope.build(FilingDiscovered(doc_id=_doc(n), year=2025, filing_type="P", filer_name="x", source_url="x"),
                          run_id=rid, source="discover")


def stored(rid: str, n: int) -> Envelope:
    return Envelope.build(DocumentStored(doc_id=_doc(n), year=2025, filing_type="P", bucket="b", key="k", sha256="0" * 64,
                                         size=1, fetch_ms=10 + n), run_id=rid, source="fetch")


def extracted(rid: str, n: int) -> Envelope:
    return Envelope.build(DocumentExtracted(doc_id=_doc(n), year=2025, rendering="efiled", pages=2, transactions=n,
                                            silver_key="s", parser_version="1", extract_ms=100 + n), run_id=rid, source="extract")


def failed(rid: str, n: int) -> Envelope:
    return Envelope.build(DocumentFailed(doc_id=_doc(n), year=2025, stage="extract", reason="no_rows", message="m"),
                          run_id=rid, source="extract")


def run(rid: str) -> RunItem:
    return RunItem.get(run_pk(rid), "RUN", consistent_read=True)


def tally(rid: str) -> tuple:
    """What the ledger knows of a run and its documents, without the times of the writes."""
    item = run(rid)
    docs = {d.sk: {k: v for k, v in d.attribute_values.items() if k not in ("updated_at", "run_id", "pk")}
            for d in RunDocumentItem.query(run_pk(rid), RunDocumentItem.sk.startswith("DOC#"))}
    return item.counts.as_dict(), item.durations_ms.as_dict(), item.docs_settled, len(item.errors), docs


def test_ten_document_events_of_a_run_are_one_transaction_and_one_read(ledgered):
    assert ledgered.invoke(start(RUN_A, docs=20)) == []
    ledgered.calls.clear()

    assert ledgered.invoke([filing(RUN_A, n) for n in range(10)]) == []
    assert ledgered.calls == ["TransactWriteItems"]  # filings count nothing: no read of the run
    ledgered.calls.clear()

    assert ledgered.invoke([stored(RUN_A, n) for n in range(10)]) == []
    assert ledgered.calls == ["TransactWriteItems", "GetItem"]
    counts, durations, settled, _, docs = tally(RUN_A)
    assert counts["fetch_stored"] == 10 and durations["fetch"] == sum(10 + n for n in range(10)) and settled == 0
    assert {d["fetch"] for d in docs.values()} == {"stored"} and len(docs) == 10


def test_a_batch_of_two_runs_is_one_transaction_and_one_read_per_run(ledgered):
    assert ledgered.invoke(start(RUN_A, docs=5) + start(RUN_B, docs=5)) == []
    ledgered.calls.clear()

    assert ledgered.invoke([event for n in range(5) for event in (stored(RUN_A, n), stored(RUN_B, n))]) == []
    assert ledgered.calls == ["TransactWriteItems", "GetItem"] * 2
    assert run(RUN_A).counts.as_dict()["fetch_stored"] == run(RUN_B).counts.as_dict()["fetch_stored"] == 5


def _events(rid: str) -> list[Envelope]:
    return ([filing(rid, n) for n in range(4)] + [stored(rid, n) for n in range(4)]
            + [extracted(rid, n) for n in range(3)] + [failed(rid, 3)])


def test_duplicates_in_and_across_batches_count_once_as_event_by_event(ledgered):
    reference = Ledger()
    for event in start(RUN_A, docs=4) + _events(RUN_A):
        reference.apply(event)

    events = _events(RUN_B)
    assert ledgered.invoke(start(RUN_B, docs=4)) == []
    assert ledgered.invoke(events[:6]) == []
    ledgered.calls.clear()
    # Already recorded (filings, two stores), new, and the same event twice in one batch.
    redelivered = events[4:6] + events[6:10] + [events[9]]
    assert ledgered.invoke(redelivered) == []
    # The four stores: two duplicates cancel the transaction, the rest is written again. A
    # document's second and third event go into transactions of their own (one item once each).
    assert ledgered.calls == ["TransactWriteItems"] * 4 + ["GetItem"]
    assert ledgered.invoke(events[8:]) == []

    assert tally(RUN_B) == tally(RUN_A)
    counts, durations, settled, errors, _ = tally(RUN_B)
    assert (counts["fetch_stored"], counts["extract_extracted"], counts["extract_failed"], settled, errors) == (4, 3, 1, 4, 1)
    assert counts["transactions"] == 0 + 1 + 2 and durations["extract"] == 100 + 101 + 102
    assert [e.event_type for e in ledgered.published] == ["run.documents_settled"]


def test_a_document_stored_and_extracted_in_one_batch(ledgered):
    assert ledgered.invoke(start(RUN_A, docs=2) + [filing(RUN_A, 0), filing(RUN_A, 1)]) == []
    ledgered.calls.clear()

    assert ledgered.invoke([stored(RUN_A, 0), extracted(RUN_A, 0), stored(RUN_A, 1)]) == []
    assert ledgered.calls == ["TransactWriteItems", "TransactWriteItems", "GetItem"]
    doc = RunDocumentItem.get(run_pk(RUN_A), f"DOC#{_doc(0)}")
    assert (doc.fetch, doc.extract, doc.terminal, doc.filing_type) == ("stored", "extracted", "extracted", "P")
    counts, durations, settled, _, _ = tally(RUN_A)
    assert (counts["fetch_stored"], counts["extract_extracted"], settled) == (2, 1, 1)
    assert durations == {"fetch": 10 + 11, "extract": 100}


def test_a_whole_run_in_one_batch_keeps_the_order_of_its_run_events(ledgered):
    events = [*start(RUN_A, docs=2), filing(RUN_A, 0), filing(RUN_A, 1), stored(RUN_A, 0), stored(RUN_A, 1),
              extracted(RUN_A, 0), failed(RUN_A, 1),
              Envelope.build(ApiPublished(gold_version="v1", objects=1), run_id=RUN_A, source="publish_api")]
    assert ledgered.invoke(events) == []
    assert [e.event_type for e in ledgered.published] == ["run.documents_settled", "run.succeeded"]
    assert run(RUN_A).status == "succeeded" and run(RUN_A).docs_settled == 2


@pytest.fixture
def failing_transactions(ledgered, monkeypatch) -> list[str]:
    """Make the next TransactWriteItems naming these runs fail as DynamoDB may (not a condition)."""
    from pynamodb.connection.base import Connection

    runs: list[str] = []
    real = Connection._make_api_call

    def flaky(self, operation_name, operation_kwargs):
        named = str(operation_kwargs)
        if operation_name == "TransactWriteItems" and any(run_pk(r) in named for r in runs):
            runs.clear()
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "try again"}}, operation_name)
        return real(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", flaky)
    return runs


def test_a_failed_write_reports_its_records_and_a_redelivery_counts_them_once(ledgered, failing_transactions):
    assert ledgered.invoke(start(RUN_A, docs=3) + start(RUN_B, docs=3)) == []
    batch = [stored(RUN_A, 0), stored(RUN_B, 0), stored(RUN_A, 1), stored(RUN_B, 1)]
    failing_transactions.append(RUN_A)

    reported = ledgered.invoke(batch)
    assert reported == [batch[0], batch[2]]
    assert "fetch_stored" not in run(RUN_A).counts.as_dict()  # nothing of the failed transaction
    assert run(RUN_B).counts.as_dict()["fetch_stored"] == 2

    assert ledgered.invoke(batch) == []  # SQS delivers the batch again
    assert run(RUN_A).counts.as_dict()["fetch_stored"] == run(RUN_B).counts.as_dict()["fetch_stored"] == 2


@pytest.fixture
def conflicting(ledgered, monkeypatch) -> dict[str, int]:
    """DynamoDB cancels the next writes of the run item as lost races with another transaction
    (`TransactionConflict`), as two ledger functions writing one run's counters can."""
    from pynamodb.connection.base import Connection
    from pynamodb.exceptions import CancellationReason, VerboseClientError

    from services.common import conditional

    left = {"TransactWriteItems": 0, "UpdateItem": 0}
    real = Connection._make_api_call
    monkeypatch.setattr(conditional, "CONFLICT_BACKOFF_S", 0.001)

    def racing(self, operation_name, operation_kwargs):
        if left.get(operation_name, 0) > 0:
            left[operation_name] -= 1
            if operation_name == "UpdateItem":
                raise VerboseClientError({"Error": {"Code": "TransactionConflictException", "Message": "race"}}, operation_name)
            reasons = [None] * (len(operation_kwargs["TransactItems"]) - 1) + [CancellationReason(code="TransactionConflict")]
            raise VerboseClientError({"Error": {"Code": "TransactionCanceledException", "Message": "race"}}, operation_name,
                                     cancellation_reasons=reasons)  # fmt: skip
        return real(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", racing)
    return left


def test_a_write_that_lost_a_race_is_tried_again_in_the_invocation(ledgered, conflicting):
    assert ledgered.invoke(start(RUN_A, docs=3)) == []
    conflicting["TransactWriteItems"] = 2
    assert ledgered.invoke([stored(RUN_A, 0), stored(RUN_A, 1)]) == []
    assert run(RUN_A).counts.as_dict()["fetch_stored"] == 2 and conflicting["TransactWriteItems"] == 0
    # A lone UpdateItem of the run item (the published Gold version) too.
    from services.common.conditional import update_if
    from services.ledger.ledger import run_item

    conflicting["UpdateItem"] = 2
    assert update_if((run_item(RUN_A), [RunItem.gold_version.set("g1")], None))
    assert run(RUN_A).gold_version == "g1" and conflicting["UpdateItem"] == 0


def test_a_race_lost_every_time_fails_the_records_and_counts_nothing(ledgered, conflicting):
    from services.common.conditional import CONFLICT_ATTEMPTS

    assert ledgered.invoke(start(RUN_A, docs=3)) == []
    conflicting["TransactWriteItems"] = CONFLICT_ATTEMPTS
    batch = [stored(RUN_A, 0), stored(RUN_A, 1)]
    assert ledgered.invoke(batch) == batch
    assert "fetch_stored" not in run(RUN_A).counts.as_dict()
    assert ledgered.invoke(batch) == []  # SQS delivers the batch again
    assert run(RUN_A).counts.as_dict()["fetch_stored"] == 2


def test_the_last_document_settling_in_a_batch_is_announced_once(ledgered):
    assert ledgered.invoke(start(RUN_A, docs=10)) == []
    ledgered.calls.clear()

    batch = [extracted(RUN_A, n) for n in range(9)] + [failed(RUN_A, 9)]
    assert ledgered.invoke(batch) == []
    [settled] = ledgered.published
    assert settled.event_type == "run.documents_settled" and settled.detail.counts["extract_extracted"] == 9
    # Its documents, the failure kept in the run's errors, the read, the settlement, its announcement.
    assert ledgered.calls == ["TransactWriteItems", "UpdateItem", "GetItem", "UpdateItem", "UpdateItem"]
    assert run(RUN_A).status == "settled" and run(RUN_A).settled_announced_at

    assert ledgered.invoke(batch) == []  # redelivered: announced already
    assert len(ledgered.published) == 1 and run(RUN_A).docs_settled == 10


def test_a_settlement_whose_publish_failed_is_announced_on_redelivery(ledgered, monkeypatch):
    from services.ledger import handler

    assert ledgered.invoke(start(RUN_A, docs=2) + [stored(RUN_A, 0), stored(RUN_A, 1)]) == []
    batch = [extracted(RUN_A, 0), extracted(RUN_A, 1)]

    def down(events):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "SNS down"}}, "PublishBatch")

    monkeypatch.setattr(handler.bus, "publish", down)
    assert ledgered.invoke(batch) == batch  # recorded and settled, not announced: delivered again
    assert run(RUN_A).status == "settled" and not run(RUN_A).settled_announced_at

    monkeypatch.setattr(handler.bus, "publish", ledgered.published.extend)
    assert ledgered.invoke(batch) == []
    assert [e.event_type for e in ledgered.published] == ["run.documents_settled"]
    assert run(RUN_A).settled_announced_at and run(RUN_A).counts.as_dict()["extract_extracted"] == 2
    assert ledgered.invoke(batch) == [] and len(ledgered.published) == 1


def test_a_final_status_whose_publish_failed_is_announced_on_redelivery(ledgered, monkeypatch):
    from services.ledger import handler

    assert ledgered.invoke([*start(RUN_A, docs=1), stored(RUN_A, 0), extracted(RUN_A, 0)]) == []
    published = [Envelope.build(ApiPublished(gold_version="v1", objects=1), run_id=RUN_A, source="publish_api")]

    def down(events):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "SNS down"}}, "PublishBatch")

    monkeypatch.setattr(handler.bus, "publish", down)
    assert ledgered.invoke(published) == published  # the status is written, its announcement lost
    assert run(RUN_A).status == "succeeded" and not run(RUN_A).final_announced_at

    monkeypatch.setattr(handler.bus, "publish", ledgered.published.extend)
    assert ledgered.invoke(published) == []
    succeeded = ledgered.published[-1]
    assert succeeded.event_type == "run.succeeded" and succeeded.detail.counts["extract_extracted"] == 1
    assert run(RUN_A).final_announced_at
    assert ledgered.invoke(published) == [] and ledgered.published[-1] is succeeded  # announced, not again


def test_an_invalid_event_in_a_batch_is_dead_lettered_and_the_rest_recorded(ledgered, monkeypatch):
    from services.common.aws import client

    dlq = client("sqs").create_queue(QueueName="ledger-dlq")["QueueUrl"]
    monkeypatch.setenv("LEDGER_DLQ_URL", dlq)
    assert ledgered.invoke(start(RUN_A, docs=3)) == []
    bad = json.dumps({**stored(RUN_A, 1).model_dump(), "detail": {"doc_id": _doc(1)}})

    assert ledgered.invoke([stored(RUN_A, 0), bad, stored(RUN_A, 2)]) == []
    [letter] = client("sqs").receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert letter["MessageAttributes"]["reason"]["StringValue"].startswith("invalid event: document.stored.detail.")
    assert run(RUN_A).counts.as_dict()["fetch_stored"] == 2
