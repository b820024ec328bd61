"""Every event of the pipeline: one envelope, a typed detail per event type.

Events travel on the `pipeline-events` SNS topic with the message attribute `event_type`, so
each queue subscribes with a filter policy to the types it handles. `schemas/` is generated
from these models (`disclosures schemas --write`) and a test fails when it drifts.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Detail(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRequested(_Detail):
    years: list[int] = Field(min_length=1)
    source_url: str = Field(description="Base URL of the Clerk's site (or a mirror of it)")
    trigger: Literal["schedule", "cli", "reprocess", "test"] = "cli"
    force: bool = Field(False, description="Dispatch every filing even if its watermark says it is done")
    doc_ids: list[str] = Field(default_factory=list, description="Restrict the run to these DocIDs")


class RunDiscovered(_Detail):
    year: int
    index_status: Literal["changed", "unchanged", "missing", "failed"]
    index_rows: int = 0
    distinct_filings: int = 0
    dispatched: int = 0
    unchanged: int = 0
    reextract: int = Field(0, description="Stored documents sent back to extract (reprocess, newer parser)")
    error: str | None = None


class FilingDiscovered(_Detail):
    doc_id: str
    year: int
    filing_type: str
    filing_date: str | None = None
    filer_name: str
    state_district: str | None = None
    source_url: str


class DocumentExtractRequested(_Detail):
    """Extract a stored document again (reprocessing, or a newer parser version)."""

    doc_id: str
    year: int
    filing_type: str
    key: str
    reason: Literal["reprocess", "parser_version"]


class DocumentStored(_Detail):
    doc_id: str
    year: int
    filing_type: str
    bucket: str
    key: str
    sha256: str
    size: int
    fetch_ms: int


class DocumentUnchanged(_Detail):
    doc_id: str
    year: int
    key: str
    reason: str


class DocumentExtracted(_Detail):
    doc_id: str
    year: int
    rendering: Literal["efiled", "scanned"]
    pages: int
    transactions: int
    silver_key: str
    parser_version: str
    warnings: list[str] = Field(default_factory=list)
    extract_ms: int


class DocumentNeedsOcr(DocumentExtracted):
    """A scanned document: no text layer to parse. Only PTRs (type P) go on to the OCR stage;
    for other types, and for events without a filing type (older extract), this is terminal."""

    filing_type: str | None = Field(None, description="Routes the event: q-ocr subscribes to type P only")


class DocumentOcrExtracted(_Detail):
    """The OCR stage read a scanned PTR's rows into its silver record (terminal)."""

    doc_id: str
    year: int
    layout: str = Field(description="The paper form read: checkbox, old_form or spreadsheet")
    pages: int
    transactions: int
    needs_review: int = Field(description="Rows with at least one reason for a person to check them")
    silver_key: str
    ocr_version: str
    engine: str
    warnings: list[str] = Field(default_factory=list)
    ocr_ms: int
    cpu_seconds: float = 0.0


class DocumentFailed(_Detail):
    doc_id: str
    year: int
    stage: Literal["fetch", "extract", "ocr"]  # the stages of services.common.states.STAGE_STATES
    reason: str = Field(description="Machine code, e.g. source_missing, not_pdf, too_large, encrypted; from OCR: "
                        "handwritten, not_ptr, unreadable, no_rows, too_many_pages, page_too_large")
    message: str


class RunDocumentsSettled(_Detail):
    years: list[int]
    documents: int
    counts: dict[str, int]


class GoldRequested(_Detail):
    """Rebuild Gold for these years outside a pipeline run (reprocessing, an operator's override)."""

    years: list[int] = Field(min_length=1)
    reason: str


class GoldPublished(_Detail):
    version: str
    years: list[int]
    row_counts: dict[str, int]
    unchanged: bool = Field(False, description="The run changed no document: the live version stands")


class GoldRejected(_Detail):
    version: str
    years: list[int]
    failed_checks: list[str]
    report: dict[str, Any]


class ApiPublished(_Detail):
    gold_version: str
    objects: int = Field(description="Objects of this version on the site: answers and static files")
    written: int = Field(0, description="Objects this publication wrote: only those that changed; 0 when the "
                                        "version was already published")


class RunSucceeded(_Detail):
    counts: dict[str, int]
    duration_s: float


class RunFailed(_Detail):
    reason: str
    counts: dict[str, int]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Envelope(BaseModel):
    """What every event carries around its detail. An event is one of the subclasses below, one
    per event type: parse with `parse_event` and `detail` is typed by its `event_type`."""

    model_config = ConfigDict(extra="forbid")

    event_type: str
    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    run_id: str
    occurred_at: str = Field(default_factory=_now)
    source: str = Field(description="The service that emitted the event")
    trace: str | None = Field(None, description="X-Ray trace header, carried across stages")
    detail: _Detail

    @classmethod
    def build(cls, detail: _Detail, *, run_id: str, source: str, trace: str | None = None) -> Envelope:
        """The event that carries `detail`, of the type its model belongs to."""
        event_type, cls = _EVENT_OF_DETAIL[type(detail)]
        return cls(event_type=event_type, run_id=run_id, source=source, trace=trace, detail=detail)


class RunRequestedEvent(Envelope):
    event_type: Literal["run.requested"]
    detail: RunRequested


class RunDiscoveredEvent(Envelope):
    event_type: Literal["run.discovered"]
    detail: RunDiscovered


class FilingDiscoveredEvent(Envelope):
    event_type: Literal["filing.discovered"]
    detail: FilingDiscovered


class DocumentExtractRequestedEvent(Envelope):
    event_type: Literal["document.extract_requested"]
    detail: DocumentExtractRequested


class DocumentStoredEvent(Envelope):
    event_type: Literal["document.stored"]
    detail: DocumentStored


class DocumentUnchangedEvent(Envelope):
    event_type: Literal["document.unchanged"]
    detail: DocumentUnchanged


class DocumentExtractedEvent(Envelope):
    event_type: Literal["document.extracted"]
    detail: DocumentExtracted


class DocumentNeedsOcrEvent(Envelope):
    event_type: Literal["document.needs_ocr"]
    detail: DocumentNeedsOcr


class DocumentOcrExtractedEvent(Envelope):
    event_type: Literal["document.ocr_extracted"]
    detail: DocumentOcrExtracted


class DocumentFailedEvent(Envelope):
    event_type: Literal["document.failed"]
    detail: DocumentFailed


class RunDocumentsSettledEvent(Envelope):
    event_type: Literal["run.documents_settled"]
    detail: RunDocumentsSettled


class GoldRequestedEvent(Envelope):
    event_type: Literal["gold.requested"]
    detail: GoldRequested


class GoldPublishedEvent(Envelope):
    event_type: Literal["gold.published"]
    detail: GoldPublished


class GoldRejectedEvent(Envelope):
    event_type: Literal["gold.rejected"]
    detail: GoldRejected


class ApiPublishedEvent(Envelope):
    event_type: Literal["api.published"]
    detail: ApiPublished


class RunSucceededEvent(Envelope):
    event_type: Literal["run.succeeded"]
    detail: RunSucceeded


class RunFailedEvent(Envelope):
    event_type: Literal["run.failed"]
    detail: RunFailed


# One parse picks the event's class by its `event_type`, and validates the detail against it.
Event = Annotated[
    RunRequestedEvent | RunDiscoveredEvent | FilingDiscoveredEvent | DocumentExtractRequestedEvent
    | DocumentStoredEvent | DocumentUnchangedEvent | DocumentExtractedEvent | DocumentNeedsOcrEvent
    | DocumentOcrExtractedEvent | DocumentFailedEvent | RunDocumentsSettledEvent | GoldRequestedEvent
    | GoldPublishedEvent | GoldRejectedEvent | ApiPublishedEvent | RunSucceededEvent | RunFailedEvent,
    Field(discriminator="event_type"),
]
_ADAPTER: TypeAdapter[Envelope] = TypeAdapter(Event, config=ConfigDict(title="Event"))
EVENT_CLASSES: tuple[type[Envelope], ...] = get_args(get_args(Event)[0])


def _declared(cls: type[Envelope]) -> tuple[str, type[_Detail]]:
    """An event class's type name and detail model, as its fields declare them."""
    [event_type] = get_args(cls.model_fields["event_type"].annotation)
    detail: type[_Detail] = cls.model_fields["detail"].annotation  # type: ignore[assignment]
    return event_type, detail


DETAIL_TYPES: dict[str, type[_Detail]] = dict(_declared(cls) for cls in EVENT_CLASSES)
_EVENT_OF_DETAIL: dict[type[_Detail], tuple[str, type[Envelope]]] = {
    _declared(cls)[1]: (_declared(cls)[0], cls) for cls in EVENT_CLASSES
}


def parse_event(data: Any) -> Envelope:
    """The typed event from its JSON form (a dict); ValidationError names what does not fit."""
    return _ADAPTER.validate_python(data)


def parse_event_json(text: str | bytes) -> Envelope:
    return _ADAPTER.validate_json(text)


def event_schema() -> dict[str, Any]:
    """The JSON schema of every event: a union discriminated by `event_type`."""
    return _ADAPTER.json_schema()


def new_run_id() -> str:
    """Sortable run ids: the start time first, so listing runs by key lists them by time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
