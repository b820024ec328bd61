"""Lambda entry point of the OCR stage: document.needs_ocr (via q-ocr, type P only) -> silver + events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from events.models import DocumentNeedsOcrEvent, DocumentOcrExtracted, Envelope
from services.common.config import PipelineSettings
from services.common.stage import Stage
from services.ocr.stage import SERVICE, Reader, ocr_document

SETTINGS = PipelineSettings  # the OCR stage reads nothing of its own (OMP_THREAD_LIMIT is Tesseract's)


def reader() -> Reader:
    # Imported on first use: Tesseract's bindings load only in the function that reads scans.
    from services.ocr.reader import read_scanned_ptr

    return read_scanned_ptr


def ocr(event: DocumentNeedsOcrEvent, record: Any = None) -> list[Envelope]:
    request = event.detail
    if request.filing_type != "P":
        # The subscription's filter lets only scanned PTRs through; anything else is a misroute.
        stage.logger.warning("ignored event", extra={"filing_type": request.filing_type, "run_id": event.run_id})
        return []
    outcome, ran = ocr_document(request.year, request.doc_id, reader())
    if ran and isinstance(outcome, DocumentOcrExtracted):
        stage.metrics.add_metric(name="StageDuration", unit=MetricUnit.Milliseconds, value=outcome.ocr_ms)
    stage.logger.info("ocr", extra={"doc_id": request.doc_id, "outcome": type(outcome).__name__, "ran": ran,
                                    "run_id": event.run_id})
    return [stage.reply(event, outcome)]


def _once(event: DocumentNeedsOcrEvent) -> dict[str, Any] | None:
    # Once per run and document: a copy delivered while the first is reading waits for its
    # outcome instead of reading the scan a second time (the watermark covers later copies).
    if event.detail.filing_type != "P":
        return None
    return {"run_id": event.run_id, "year": event.detail.year, "doc_id": event.detail.doc_id}


stage: Stage[DocumentNeedsOcrEvent] = Stage(SERVICE, accepts=[DocumentNeedsOcrEvent], work=ocr, once=_once,
                                            metric_prefix="Ocr_")
lambda_handler = stage.lambda_handler
