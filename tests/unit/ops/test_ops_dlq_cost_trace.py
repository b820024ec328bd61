"""DLQ replay on AWS (StartMessageMoveTask), the cost model, metrics sink and trace propagation."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from infra.ops import dlq
from services.ledger import cost


def test_replay_aws_asks_sqs_to_move_the_messages_back():
    # moto does not implement StartMessageMoveTask: check the request AWS receives.
    sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")  # noqa: S106
    arn = "arn:aws:sqs:us-east-1:123456789012:disclosures-fetch-dlq"
    with Stubber(sqs) as stub:
        stub.add_response("start_message_move_task", {"TaskHandle": "handle-1"}, {"SourceArn": arn})
        assert dlq.replay_aws(sqs, arn) == "handle-1"
        stub.assert_no_pending_responses()


FULL_RUN = {"run_id": "20250101T070000Z-abcd", "status": "succeeded", "years": [2025], "gold_version": "v1",
            "counts": {"index_rows": 34, "filings_dispatched": 32, "fetch_stored": 29, "fetch_failed": 3,
                       "extract_extracted": 20, "extract_needs_ocr": 9},
            "durations_ms": {"fetch": 8000, "extract": 45000}}


def test_run_cost_prices_the_ledger_counts():
    estimate = cost.run_cost(FULL_RUN)
    usage = estimate.usage
    assert usage["lambda_gb_s"] == pytest.approx(8 * 0.5 + 45 * 1.0 + 8 * 0.5 + 60 * 2 + 30 * 1 + usage["events"] * 0.05 * 0.5)
    assert usage["sns_publishes"] == usage["events"] == 1 + 1 + 32 + 32 + 29 + 4
    assert set(estimate.by_service()) == {"Lambda", "SQS", "SNS", "S3", "DynamoDB", "CloudWatch", "X-Ray"}
    assert 0 < estimate.total_usd < 0.05  # a nightly run costs cents at most
    projection = cost.monthly_projection([FULL_RUN])
    assert projection["total_usd"] < 15  # under the charges alarm
    assert 0 < projection["free_tier_used"]["lambda_gb_s_pct"] < 100


def test_the_projection_prints_each_service_and_free_tier_as_name_and_value():
    from infra.cli.console import out
    from infra.cli.ops_cmd import print_projection

    projection = cost.monthly_projection([FULL_RUN])
    with out.capture() as printed:
        print_projection(projection, "runs like the last 1")
    text = printed.get()
    assert "projected month at 30 runs like the last 1" in text and f"${projection['total_usd']:.2f}" in text
    assert "{" not in text and f"Lambda={projection['by_service']['Lambda']:.4f}" in text
    assert f"lambda_gb_s_pct={projection['free_tier_used']['lambda_gb_s_pct']}%" in text


def test_month_to_date_counts_only_this_month():
    from datetime import UTC, datetime

    now = datetime(2025, 1, 15, tzinfo=UTC)
    older = {**FULL_RUN, "run_id": "20241231T070000Z-x"}
    assert cost.month_to_date([FULL_RUN, older], now) == pytest.approx(
        cost.run_cost(FULL_RUN).total_usd + sum(line.usd for line in cost.fixed_monthly()) * 15 / 31, abs=1e-3)


def test_ledger_metrics_come_from_the_events():
    from events.models import Envelope, RunDocumentsSettled, RunFailed
    from services.ledger import handler

    handler.metrics.drain()
    failed = Envelope.build(RunFailed(reason="x", counts={}), run_id="r", source="watchdog")
    settled = Envelope.build(RunDocumentsSettled(years=[2025], documents=10, counts={
        "extract_extracted": 9, "extract_failed": 1}), run_id="r", source="ledger")
    handler.emit_metrics([failed], [settled])
    taken = handler.metrics.drain()
    assert taken["RunsFailed"]["Value"] == [1.0]
    assert taken["ExtractionFailureRate"]["Value"] == [10.0]


def test_extract_carries_the_trace_from_the_bronze_metadata(monkeypatch):
    from events.models import DocumentExtracted
    from services.extract import handler
    from services.extract.extract import Extraction

    outcome = DocumentExtracted(doc_id="1", year=2025, rendering="efiled", pages=1, transactions=0, silver_key="k",
                                parser_version="v", extract_ms=5)
    monkeypatch.setattr(handler, "extract_object", lambda *a, **k: Extraction("run-1", outcome, "Root=1-abc"))
    [announced] = handler._extract("bronze", "house-fd/pdf/x.pdf").events
    assert announced.trace == "Root=1-abc" and announced.run_id == "run-1"
    # A request's own trace wins over the stored one; with neither, the invocation's X-Ray header.
    monkeypatch.setattr(handler, "extract_object", lambda *a, **k: Extraction("run-1", outcome, None))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-lambda")
    announced = handler._extract("bronze", "k", trace="Root=1-request").events + handler._extract("bronze", "k").events
    assert [e.trace for e in announced] == ["Root=1-request", "Root=1-lambda"]
    handler.stage.metrics.drain()


def test_the_cost_model_counts_every_alarm_of_the_template():
    from infra.local.template import Stack, load

    assert cost.ALARMS == len(Stack(load()).of_type("AWS::CloudWatch::Alarm"))


def test_every_metric_the_services_name_is_documented_and_the_cost_model_counts_them():
    import re
    from pathlib import Path

    root = Path(__file__).parents[3]
    doc = (root / "docs/observability.md").read_text()
    named = {name for path in (root / "services").rglob("*.py") for line in path.read_text().splitlines()
             if "add_metric(name=" in line for name in re.findall(r'"([A-Z]\w+)"', line)}
    assert {"LedgerInvalidEvents", "GoldRejected"} <= named  # the scan sees literal and conditional names
    assert sorted(n for n in named if f"| {n} " not in doc and f"/ {n} " not in doc) == []
    assert cost.CUSTOM_METRICS == int(re.search(r"\*\*Custom metrics: (\d+)\*\*", doc).group(1))
