"""Lambda entry point of the OCR stage: document.needs_ocr (via q-ocr, type P only) -> silver + events."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import DocumentNeedsOcr, DocumentOcrExtracted, Envelope
from services.common import bus
from services.common.observability import annotate, current_trace, sqs_batch_handler, tools
from services.ocr.stage import SERVICE, Reader, ocr_document

logger, tracer, metrics = tools(SERVICE)


def reader() -> Reader:
    # Imported on first use: Tesseract's bindings load only in the function that reads scans.
    from services.ocr.reader import read_scanned_ptr

    return read_scanned_ptr


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    envelope = Envelope.model_validate_json(record.body)
    request = envelope.typed()
    if not isinstance(request, DocumentNeedsOcr) or request.filing_type != "P":
        # The subscription's filter lets only scanned PTRs through; anything else is a misroute.
        logger.warning("ignored event", extra={"event_type": envelope.event_type, "run_id": envelope.run_id})
        return
    trace = current_trace(envelope.trace)
    annotate(tracer, envelope.run_id, trace)
    outcome, ran = ocr_document(request.year, request.doc_id, reader())
    bus.publish_one(Envelope.build(outcome, run_id=envelope.run_id, source=SERVICE, trace=trace))
    metrics.add_metric(name=f"Ocr_{type(outcome).__name__}", unit=MetricUnit.Count, value=1)
    if ran and isinstance(outcome, DocumentOcrExtracted):
        metrics.add_metric(name="StageDuration", unit=MetricUnit.Milliseconds, value=outcome.ocr_ms)
    logger.info("ocr", extra={"doc_id": request.doc_id, "outcome": type(outcome).__name__, "ran": ran,
                              "run_id": envelope.run_id, "trace": trace})


lambda_handler = sqs_batch_handler(record_handler, logger, tracer, metrics)
