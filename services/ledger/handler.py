"""Lambda entry point of the ledger: every pipeline event -> the run ledger table."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import Field, ValidationError

from events.models import Envelope, RunDocumentsSettled, RunSucceeded, parse_event_json
from services.common import bus
from services.common.aws import client
from services.common.config import PipelineSettings
from services.common.observability import annotate, current_trace, sqs_whole_batch_handler, tools
from services.ledger.ledger import SERVICE, Ledger, Step

logger, tracer, metrics = tools(SERVICE)
ledger = Ledger()
class LedgerSettings(PipelineSettings):
    ledger_dlq_url: str = Field(description="Where an event the ledger cannot record goes at once, with its reason")


SETTINGS = LedgerSettings
_REASON_MAX = 1000

# Counted from the events as they arrive on q-ledger: every final status passes here once,
# whether the ledger itself or the watchdog announced it.
_RUN_METRICS = {"run.requested": "RunsStarted", "run.succeeded": "RunsSucceeded", "run.failed": "RunsFailed"}


def extraction_failure_rate(counts: dict[str, int]) -> float | None:
    """Percent of the run's extracted documents that failed extraction; None if none were extracted."""
    failed = counts.get("extract_failed", 0)
    attempted = failed + counts.get("extract_extracted", 0) + counts.get("extract_needs_ocr", 0)
    return round(100.0 * failed / attempted, 2) if attempted else None


def emit_metrics(events: list[Envelope], announced: list[Envelope]) -> None:
    for event in events:
        if event.event_type in _RUN_METRICS:
            metrics.add_metric(name=_RUN_METRICS[event.event_type], unit=MetricUnit.Count, value=1)
        if isinstance(event.detail, RunSucceeded):
            metrics.add_metric(name="RunDuration", unit=MetricUnit.Seconds, value=event.detail.duration_s)
    for out in announced:
        if isinstance(out.detail, RunDocumentsSettled):
            rate = extraction_failure_rate(out.detail.counts)
            if rate is not None:
                metrics.add_metric(name="ExtractionFailureRate", unit=MetricUnit.Percent, value=rate)


def _problems(exc: ValidationError) -> str:
    # A location starts with the event type the union picked: "run.requested.detail.years".
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])


def parse(body: str) -> tuple[Envelope | None, str | None]:
    """The event, or why it cannot be recorded (its envelope or its detail fails validation)."""
    try:
        return parse_event_json(body), None
    except ValidationError as exc:
        return None, f"invalid event: {_problems(exc)}"[:_REASON_MAX]


def dead_letter(record: SQSRecord, reason: str) -> None:
    """Put an event the ledger cannot record into its DLQ at once, with the reason: bad input is
    not retried, and a run is never made up from it."""
    client("sqs").send_message(
        QueueUrl=LedgerSettings.from_env().ledger_dlq_url, MessageBody=record.body,
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason}},
    )  # fmt: skip
    logger.error("event dead-lettered", extra={"reason": reason, "message_id": record.message_id})
    metrics.add_metric(name="LedgerInvalidEvents", unit=MetricUnit.Count, value=1)


@tracer.capture_method
def announce(step: Step, events: list[Envelope]) -> None:
    """Publish what recording these events of one run announced, then record it as published."""
    trace = current_trace(events[-1].trace)
    annotate(tracer, step.run_id, trace)
    announced = [out.model_copy(update={"trace": out.trace or trace}) for out in step.announced]
    if announced:
        bus.publish(announced)
        ledger.announced(announced)
    for out in announced:
        logger.info("run status", extra={"run_id": out.run_id, "event_type": out.event_type, "trace": out.trace})
    emit_metrics(events, announced)


def record_batch(records: list[SQSRecord]) -> list[str]:
    """Record a batch's events together; return the message ids of those to deliver again."""
    failed: list[str] = []
    valid: list[SQSRecord] = []
    events: list[Envelope] = []
    for record in records:
        event, reason = parse(record.body)
        if event is not None:
            valid.append(record)
            events.append(event)
            continue
        assert reason is not None
        try:
            dead_letter(record, reason)
        except Exception:  # noqa: BLE001 - delivered again, and dead-lettered then
            logger.exception("dead-lettering failed", extra={"message_id": record.message_id})
            failed.append(record.message_id)
    for step in ledger.record(events):
        try:
            if step.error:
                raise step.error
            announce(step, [events[i] for i in step.events])
        except Exception:  # noqa: BLE001 - delivered again: a duplicate counts nothing
            ids = [valid[i].message_id for i in step.events]
            logger.exception("events not recorded", extra={"run_id": step.run_id, "message_ids": ids})
            failed += ids
    return failed


lambda_handler = sqs_whole_batch_handler(record_batch, logger, tracer, metrics)
