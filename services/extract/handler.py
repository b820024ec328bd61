"""Lambda entry point of extract: bronze ObjectCreated (via q-extract) -> silver + events."""

from __future__ import annotations

import json
import urllib.parse

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import Envelope
from services.common import bus
from services.common.observability import lambda_entry, tools
from services.extract.extract import SERVICE, extract_object

logger, tracer, metrics = tools(SERVICE)
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    body = json.loads(record.body)
    if body.get("Event") == "s3:TestEvent":
        return
    for s3_record in S3Event(body).records:
        # Keys arrive URL-encoded in S3 events.
        key = urllib.parse.unquote_plus(s3_record.s3.get_object.key)
        result = extract_object(s3_record.s3.bucket.name, key)
        if result is None:
            logger.info("ignored object", extra={"key": key})
            continue
        run_id, outcome = result
        bus.publish_one(Envelope.build(outcome, run_id=run_id, source=SERVICE))
        metrics.add_metric(name=f"Extract_{type(outcome).__name__}", unit=MetricUnit.Count, value=1)
        logger.info("extracted", extra={"key": key, "outcome": type(outcome).__name__, "run_id": run_id})


@lambda_entry(logger, tracer, metrics)
def lambda_handler(event: dict, context: object) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
