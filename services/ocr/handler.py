"""Lambda entry point of the OCR stage: document.needs_ocr (via q-ocr, type P only) -> silver + events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import DocumentNeedsOcr, DocumentOcrExtracted, Envelope
from services.common import bus, idempotency
from services.common.observability import annotate, current_trace, sqs_batch_handler, tools
from services.ocr.stage import SERVICE, Reader, ocr_document

logger, tracer, metrics = tools(SERVICE)


def reader() -> Reader:
    # Imported on first use: Tesseract's bindings load only in the function that reads scans.
    from services.ocr.reader import read_scanned_ptr

    return read_scanned_ptr


def _ocr(request: DocumentNeedsOcr, envelope: Envelope, trace: str | None) -> list[Envelope]:
    outcome, ran = ocr_document(request.year, request.doc_id, reader())
    metrics.add_metric(name=f"Ocr_{type(outcome).__name__}", unit=MetricUnit.Count, value=1)
    if ran and isinstance(outcome, DocumentOcrExtracted):
        metrics.add_metric(name="StageDuration", unit=MetricUnit.Milliseconds, value=outcome.ocr_ms)
    logger.info("ocr", extra={"doc_id": request.doc_id, "outcome": type(outcome).__name__, "ran": ran,
                              "run_id": envelope.run_id, "trace": trace})
    return [Envelope.build(outcome, run_id=envelope.run_id, source=SERVICE, trace=trace)]


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: Any = None) -> None:
    envelope = Envelope.model_validate_json(record.body)
    request = envelope.typed()
    if not isinstance(request, DocumentNeedsOcr) or request.filing_type != "P":
        # The subscription's filter lets only scanned PTRs through; anything else is a misroute.
        logger.warning("ignored event", extra={"event_type": envelope.event_type, "run_id": envelope.run_id})
        return
    trace = current_trace(envelope.trace)
    annotate(tracer, envelope.run_id, trace)
    # Once per run and document: a copy delivered while the first is reading waits for its
    # outcome instead of reading the scan a second time (the watermark covers later copies).
    key = {"run_id": envelope.run_id, "year": request.year, "doc_id": request.doc_id}
    bus.publish(idempotency.once(SERVICE, key, lambda: _ocr(request, envelope, trace), lambda_context).events)


lambda_handler = sqs_batch_handler(record_handler, logger, tracer, metrics)
