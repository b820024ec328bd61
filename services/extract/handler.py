"""Lambda entry point of extract: bronze ObjectCreated (via q-extract) -> silver + events."""

from __future__ import annotations

import urllib.parse
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from events.models import DocumentExtractRequestedEvent, Envelope
from events.sources import S3Notification, S3TestEvent
from services.common.config import PipelineSettings, settings
from services.common.idempotency import Once
from services.common.observability import annotate, current_trace
from services.common.stage import Stage
from services.extract.extract import SERVICE, extract_object
from services.extract.limits import PARSE_AT_LIMIT_S

Body = DocumentExtractRequestedEvent | S3Notification | S3TestEvent
SETTINGS = PipelineSettings  # extract reads nothing of its own


def _extract(bucket: str, key: str, run_id: str | None = None, force: bool = False,
             trace: str | None = None, first_delivery: bool = False) -> Once:
    """Extract one object; the outcome event to announce (none for a key that is not a PDF, or
    for a PDF stored outside any run)."""
    result = extract_object(bucket, key, run_id=run_id, force=force, first_delivery=first_delivery)
    if result is None:
        stage.logger.info("ignored object", extra={"key": key})
        return Once([], repeated=False)
    run_id, outcome, stored_trace, analyze_ms, again = result
    if run_id is None:
        # Silver is written and the next run's Gold build reads it; no run waits for the outcome,
        # and announcing one under a made-up run id would open a run nobody can finish.
        stage.logger.warning("extracted outside any run", extra={"key": key, "outcome": type(outcome).__name__})
        return Once([], repeated=again)
    # The trace of the run: the request's, else the one fetch wrote into the object's metadata.
    trace = current_trace(trace or stored_trace)
    annotate(stage.tracer, run_id, trace)
    if extract_ms := getattr(outcome, "extract_ms", 0):
        stage.metrics.add_metric(name="StageDuration", unit=MetricUnit.Milliseconds, value=extract_ms)
    if analyze_ms:  # the parser's part of it: the rest is the pipeline's (S3, watermark, events)
        stage.metrics.add_metric(name="AnalyzeDuration", unit=MetricUnit.Milliseconds, value=analyze_ms)
    stage.logger.info("extracted", extra={"key": key, "outcome": type(outcome).__name__, "run_id": run_id,
                                          "trace": trace})
    return Once([Envelope.build(outcome, run_id=run_id, source=SERVICE, trace=trace)], repeated=again)


def extract(body: Body, record: Any = None) -> Once:
    if isinstance(body, S3TestEvent):
        return Once([], repeated=False)
    if isinstance(body, DocumentExtractRequestedEvent):
        # Re-extraction of a stored document, asked for by discover (reprocess, newer parser).
        request = body.detail
        return _extract(settings().bronze_bucket, request.key, run_id=body.run_id,
                        force=request.reason == "reprocess", trace=body.trace)
    # Keys arrive URL-encoded in S3 events. The watermark makes a repeated event harmless: the
    # stored outcome is announced again (see `extract_object` for when it is read first).
    first = record is not None and _receive_count(record) <= 1
    done = [_extract(s3.s3.bucket.name, urllib.parse.unquote_plus(s3.s3.object.key), first_delivery=first)
            for s3 in body.Records]
    return Once([event for one in done for event in one.events], repeated=bool(done) and all(o.repeated for o in done))


def _receive_count(record: Any) -> int:
    attributes = getattr(record, "attributes", None)
    return int(getattr(attributes, "ApproximateReceiveCount", None) or 1)


def _once(body: Body) -> dict[str, Any] | None:
    # A reprocess request forces a new extraction: once per run and stored object, a redelivery
    # announces the saved outcome again.
    if isinstance(body, DocumentExtractRequestedEvent):
        return {"run_id": body.run_id, "key": body.detail.key}
    return None


stage: Stage[Body] = Stage(SERVICE, accepts=[DocumentExtractRequestedEvent, S3Notification, S3TestEvent],
                           work=extract, once=_once, metric_prefix="Extract_", batch_events=True,
                           record_budget_s=PARSE_AT_LIMIT_S)
lambda_handler = stage.lambda_handler
