"""Lambda entry point of the ledger: every pipeline event -> the run ledger table."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import Envelope
from services.common import bus
from services.common.observability import sqs_batch_handler, tools
from services.ledger.ledger import SERVICE, Ledger

logger, tracer, metrics = tools(SERVICE)
ledger = Ledger()

_RUN_METRICS = {"run.requested": "RunsStarted", "run.succeeded": "RunsSucceeded", "run.failed": "RunsFailed"}


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    event = Envelope.model_validate_json(record.body)
    announced = ledger.apply(event)
    if announced:
        bus.publish(announced)
    for out in announced:
        logger.info("run status", extra={"run_id": out.run_id, "event_type": out.event_type})
        if out.event_type in _RUN_METRICS:
            metrics.add_metric(name=_RUN_METRICS[out.event_type], unit=MetricUnit.Count, value=1)
    if event.event_type == "run.requested":
        metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)


lambda_handler = sqs_batch_handler(record_handler, logger, tracer, metrics)
