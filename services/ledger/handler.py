"""Lambda entry point of the ledger: every pipeline event -> the run ledger table."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import Envelope
from services.common import bus
from services.common.observability import annotate, current_trace, sqs_batch_handler, tools
from services.ledger.ledger import SERVICE, Ledger

logger, tracer, metrics = tools(SERVICE)
ledger = Ledger()

# Counted from the events as they arrive on q-ledger: every final status passes here once,
# whether the ledger itself or the watchdog announced it.
_RUN_METRICS = {"run.requested": "RunsStarted", "run.succeeded": "RunsSucceeded", "run.failed": "RunsFailed"}


def extraction_failure_rate(counts: dict[str, int]) -> float | None:
    """Percent of the run's extracted documents that failed extraction; None if none were extracted."""
    failed = counts.get("extract_failed", 0)
    attempted = failed + counts.get("extract_extracted", 0) + counts.get("extract_needs_ocr", 0)
    return round(100.0 * failed / attempted, 2) if attempted else None


def emit_metrics(event: Envelope, announced: list[Envelope]) -> None:
    if event.event_type in _RUN_METRICS:
        metrics.add_metric(name=_RUN_METRICS[event.event_type], unit=MetricUnit.Count, value=1)
    if event.event_type == "run.succeeded":
        metrics.add_metric(name="RunDuration", unit=MetricUnit.Seconds, value=float(event.detail.get("duration_s", 0)))
    for out in announced:
        if out.event_type == "run.documents_settled":
            rate = extraction_failure_rate(out.detail.get("counts", {}))
            if rate is not None:
                metrics.add_metric(name="ExtractionFailureRate", unit=MetricUnit.Percent, value=rate)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    event = Envelope.model_validate_json(record.body)
    trace = current_trace(event.trace)
    annotate(tracer, event.run_id, trace)
    announced = [out.model_copy(update={"trace": out.trace or trace}) for out in ledger.apply(event)]
    if announced:
        bus.publish(announced)
        ledger.announced(announced)
    for out in announced:
        logger.info("run status", extra={"run_id": out.run_id, "event_type": out.event_type, "trace": out.trace})
    emit_metrics(event, announced)


lambda_handler = sqs_batch_handler(record_handler, logger, tracer, metrics)
