"""The stage skeleton without AWS: parsing by model, poison pills, publishing, outcome metrics."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from events.models import (
    DocumentFailed,
    Envelope,
    FilingDiscovered,
    FilingDiscoveredEvent,
    RunRequested,
)
from events.sources import S3Notification
from infra.local.pollers import LocalContext
from services.common import bus
from services.common.stage import Stage, record_model

CONTEXT = LocalContext("test_stage")
FILING = FilingDiscovered(doc_id="20026590", year=2025, filing_type="P", filer_name="Hon. Jane Doe", source_url="u")


def _record(body: str, message_id: str = "m1") -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": "r", "body": body, "md5OfBody": "x", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1",
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x",
                           "ApproximateFirstReceiveTimestamp": "0"},
            "messageAttributes": {}}


@pytest.fixture
def sent(monkeypatch) -> list[Envelope]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Test")
    out: list[Envelope] = []
    monkeypatch.setattr(bus, "publish", out.extend)
    return out


def _stage(seen: list[Any], prefix: str | None = "Test_") -> Stage:
    def work(event: FilingDiscoveredEvent, record: Any = None) -> list[Envelope]:
        seen.append(event)
        failed = DocumentFailed(doc_id=event.detail.doc_id, year=event.detail.year, stage="fetch",
                                reason="source_missing", message="404")
        return [stage.reply(event, failed)]

    stage: Stage[FilingDiscoveredEvent] = Stage("test_stage", accepts=[FilingDiscoveredEvent], work=work,
                                                metric_prefix=prefix)
    return stage


def test_the_work_gets_the_typed_event_and_its_outcome_is_published_and_counted(sent, capsys):
    seen: list[Any] = []
    stage = _stage(seen)
    event = Envelope.build(FILING, run_id="run-1", source="discover", trace="Root=1-abc")
    assert stage.lambda_handler({"Records": [_record(event.model_dump_json())]}, CONTEXT) == {"batchItemFailures": []}
    assert seen == [event] and type(seen[0].detail) is FilingDiscovered
    [out] = sent
    assert (out.event_type, out.run_id, out.source, out.trace) == ("document.failed", "run-1", "test_stage", "Root=1-abc")
    [emf] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf["Test_DocumentFailed"] == [1.0] and emf["service"] == "test_stage"


def test_a_stage_without_a_metric_prefix_counts_nothing(sent):
    stage = _stage([], prefix=None)
    stage.handle(Envelope.build(FILING, run_id="run-1", source="discover"))
    assert len(sent) == 1 and stage.metrics.drain() == {}


def test_poison_pills_fail_alone_and_say_why(sent, caplog):
    seen: list[Any] = []
    stage = _stage(seen)
    good = Envelope.build(FILING, run_id="run-1", source="discover")
    other_type = Envelope.build(RunRequested(years=[2025], source_url="x"), run_id="run-1", source="cli")
    bad_detail = {**json.loads(good.model_dump_json()), "detail": {"doc_id": "1"}}
    records = [_record("not json", "m1"), _record(other_type.model_dump_json(), "m2"),
               _record(json.dumps(bad_detail), "m3"), _record(good.model_dump_json(), "m4")]
    with caplog.at_level(logging.WARNING):
        result = stage.lambda_handler({"Records": records}, CONTEXT)
    assert result == {"batchItemFailures": [{"itemIdentifier": m} for m in ("m1", "m2", "m3")]}
    assert seen == [good] and len(sent) == 1  # the bad ones never reached the work
    warned = [r for r in caplog.records if r.getMessage() == "record failed"]
    assert [r.message_id for r in warned] == ["m1", "m2", "m3"]  # type: ignore[attr-defined]
    assert all("ValidationError" in r.error for r in warned)  # type: ignore[attr-defined]


def test_what_follows_the_work_runs_after_its_announcement(sent):
    seen_sent: list[int] = []

    def work(event: FilingDiscoveredEvent, record: Any = None) -> list[Envelope]:
        return [stage.reply(event, DocumentFailed(doc_id="1", year=2025, stage="fetch", reason="x", message="y"))]

    def after(event: FilingDiscoveredEvent, announced: list[Envelope]) -> None:
        seen_sent.append(len(sent))
        raise RuntimeError("retention timed out")

    stage: Stage[FilingDiscoveredEvent] = Stage("test_stage", accepts=[FilingDiscoveredEvent], work=work, after=after)
    with pytest.raises(RuntimeError, match="retention"):
        stage.handle(Envelope.build(FILING, run_id="run-1", source="discover"))
    assert seen_sent == [1] and len(sent) == 1  # announced before `after` ran, and not lost by its failure


def test_a_failing_work_is_a_batch_item_failure_and_publishes_nothing(sent):
    def work(event: Any, record: Any = None) -> list[Envelope]:
        raise RuntimeError("source down")

    stage: Stage[FilingDiscoveredEvent] = Stage("test_stage", accepts=[FilingDiscoveredEvent], work=work)
    ok = Envelope.build(FILING, run_id="run-1", source="discover")
    with pytest.raises(BatchProcessingError, match="All records failed"):  # Powertools: the batch is retried whole
        stage.lambda_handler({"Records": [_record(ok.model_dump_json(), "m1")]}, CONTEXT)
    assert sent == []


def test_record_models_tell_events_from_s3_notifications():
    model = record_model("Mixed", FilingDiscoveredEvent, S3Notification)
    notification = {"Records": [{"eventName": "ObjectCreated:Put",
                                 "s3": {"bucket": {"name": "b"}, "object": {"key": "k%3D1"}}}]}
    parsed = model.model_validate(_record(json.dumps(notification)))
    assert isinstance(parsed.body, S3Notification) and parsed.body.Records[0].s3.object.key == "k%3D1"
    event = Envelope.build(FILING, run_id="r", source="discover")
    assert model.model_validate(_record(event.model_dump_json())).body == event


def test_a_record_is_not_started_without_time_for_its_work(sent):
    """With less of the invocation left than a record may take, the rest of the batch goes back
    to the queue unstarted; the first record of an invocation is always started."""
    seen: list[Any] = []
    stage = _stage(seen)
    stage.record_budget_s = 60.0
    context = LocalContext("test_stage", timeout_ms=120_000)
    clock = iter([100_000, 50_000, 50_000])  # what is left before the second and third records
    context.get_remaining_time_in_millis = lambda: next(clock)  # type: ignore[method-assign]
    events = [Envelope.build(FILING.model_copy(update={"doc_id": f"2002659{n}"}), run_id="run-1", source="discover")
              for n in range(3)]  # fmt: skip
    records = [_record(e.model_dump_json(), f"m{n}") for n, e in enumerate(events)]
    assert stage.lambda_handler({"Records": records}, context) == {
        "batchItemFailures": [{"itemIdentifier": "m2"}]
    }
    assert [e.detail.doc_id for e in seen] == ["20026590", "20026591"]
    # A later invocation starts its first record whatever is left: it always makes progress.
    context.get_remaining_time_in_millis = lambda: 1_000  # type: ignore[method-assign]
    assert stage.lambda_handler({"Records": records[2:]}, context) == {"batchItemFailures": []}
    assert [e.detail.doc_id for e in seen][-1] == "20026592"
