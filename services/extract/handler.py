"""Lambda entry point of extract: bronze ObjectCreated (via q-extract) -> silver + events."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import DocumentExtractRequested, Envelope
from services.common import bus, idempotency
from services.common.config import settings
from services.common.observability import annotate, current_trace, sqs_batch_handler, tools
from services.extract.extract import SERVICE, extract_object

logger, tracer, metrics = tools(SERVICE)


def _extract(bucket: str, key: str, run_id: str | None = None, force: bool = False,
             trace: str | None = None) -> list[Envelope]:
    """Extract one object; the outcome event to announce (none for a key that is not a PDF, or
    for a PDF stored outside any run)."""
    result = extract_object(bucket, key, run_id=run_id, force=force)
    if result is None:
        logger.info("ignored object", extra={"key": key})
        return []
    run_id, outcome, stored_trace = result
    if run_id is None:
        # Silver is written and the next run's Gold build reads it; no run waits for the outcome,
        # and announcing one under a made-up run id would open a run nobody can finish.
        logger.warning("extracted outside any run", extra={"key": key, "outcome": type(outcome).__name__})
        return []
    # The trace of the run: the request's, else the one fetch wrote into the object's metadata.
    trace = current_trace(trace or stored_trace)
    annotate(tracer, run_id, trace)
    metrics.add_metric(name=f"Extract_{type(outcome).__name__}", unit=MetricUnit.Count, value=1)
    if extract_ms := getattr(outcome, "extract_ms", 0):
        metrics.add_metric(name="StageDuration", unit=MetricUnit.Milliseconds, value=extract_ms)
    logger.info("extracted", extra={"key": key, "outcome": type(outcome).__name__, "run_id": run_id, "trace": trace})
    return [Envelope.build(outcome, run_id=run_id, source=SERVICE, trace=trace)]


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: Any = None) -> None:
    body = json.loads(record.body)
    if body.get("Event") == "s3:TestEvent":
        return
    if "event_type" in body:
        # Re-extraction of a stored document, asked for by discover (reprocess, newer parser).
        envelope = Envelope.model_validate(body)
        request = envelope.typed()
        assert isinstance(request, DocumentExtractRequested)
        bronze = settings().bronze_bucket

        def extract() -> list[Envelope]:
            return _extract(bronze, request.key, run_id=envelope.run_id, force=request.reason == "reprocess",
                            trace=envelope.trace)

        # A reprocess request forces a new extraction: once per run and stored object, a
        # redelivery announces the saved outcome again.
        key = {"run_id": envelope.run_id, "key": request.key}
        bus.publish(idempotency.once(SERVICE, key, extract, lambda_context).events)
        return
    for s3_record in S3Event(body).records:
        # Keys arrive URL-encoded in S3 events. The watermark makes a repeated event cheap
        # (`extract.already_done`): the stored outcome is announced again.
        bus.publish(_extract(s3_record.s3.bucket.name, urllib.parse.unquote_plus(s3_record.s3.get_object.key)))


lambda_handler = sqs_batch_handler(record_handler, logger, tracer, metrics, batch_events=True)
