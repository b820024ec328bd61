"""Silver records -> silver year tables (filings, documents, transactions), in a fixed order.

Every record is read through its typed document (`services/common/documents.py`), so a record
that does not fit is reported as a `SilverFailure` naming its key and the field, instead of
crashing the build or being dropped silently.
Order: filings and documents by doc_id, transactions by (doc_id, row): the same records
always give the same tables, whichever order S3 listed them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import pyarrow as pa
from pydantic import BaseModel, ValidationError

from services.build_gold import schemas
from services.common.documents import FilingsSnapshot, IndexFiling, SilverDocument, SilverFiler, SilverPtr

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class SilverObject:
    key: str
    record: Any  # parsed JSON, validated by `compact_documents`


@dataclass(frozen=True)
class SilverFailure:
    key: str
    reason: str


@dataclass(frozen=True)
class YearTables:
    filings: pa.Table
    documents: pa.Table
    transactions: pa.Table

    def as_dict(self) -> dict[str, pa.Table]:
        return {"filings": self.filings, "documents": self.documents, "transactions": self.transactions}


class RecordError(ValueError):
    """A silver record whose shape or values do not fit the schema."""


def _validated(model: type[M], value: Any, what: str) -> M:
    if value is None:
        raise RecordError(f"{what} is null")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or what
        more = f" ({exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise RecordError(f"{where}: {first['msg']}{more}") from exc


# --- filings ----------------------------------------------------------------------------------


def compact_filings(snapshot: Any, year: int, key: str) -> tuple[pa.Table, list[SilverFailure]]:
    """The year's index snapshot -> filings table, one row per DocID.

    discover already deduplicates; repeated DocIDs are collapsed again here (the latest
    filing date wins) because a duplicate key would fail every later build.
    """
    try:
        filings = _validated(FilingsSnapshot, snapshot, "filings snapshot").filings
    except RecordError as exc:
        return pa.Table.from_pylist([], schema=schemas.FILINGS), [SilverFailure(key, str(exc))]
    latest: dict[str, IndexFiling] = {}
    for filing in filings:
        kept = latest.get(filing.doc_id)
        if kept is None or (filing.filing_date or date.min) > (kept.filing_date or date.min):
            latest[filing.doc_id] = filing
    ordered = [{**latest[doc_id].model_dump(), "year": latest[doc_id].year or year} for doc_id in sorted(latest)]
    return pa.Table.from_pylist(ordered, schema=schemas.FILINGS), []


# --- documents and transactions ---------------------------------------------------------------

# The documents table's columns a silver record gives as they are.
_DOCUMENT_FIELDS = {
    "doc_id", "filing_type", "filing_date", "source_url", "bronze_key", "sha256", "run_id", "extraction_status",
    "failure_reason", "rendering", "pages", "warnings", "parser_version", "extracted_at",
}


def parse_document(obj: SilverObject, year: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One silver document record -> (documents row, transactions rows); RecordError if malformed."""
    record = _validated(SilverDocument, obj.record, "document")
    if f"doc_id={record.doc_id}/" not in obj.key:
        raise RecordError(f"doc_id {record.doc_id} does not match its key")
    header = record.header or SilverFiler()
    ptr = record.ptr or SilverPtr()
    rows = [t.row for t in ptr.transactions]
    if len(set(rows)) != len(rows):
        raise RecordError("ptr.transactions: repeated row numbers")
    transactions = [{**t.model_dump(), "doc_id": record.doc_id, "year": year} for t in ptr.transactions]
    document = {
        **record.model_dump(include=_DOCUMENT_FIELDS),
        "year": year,
        "extraction_status": record.extraction_status.value,
        "filer_name": header.filer_name or ptr.filer_name,
        "filer_status": header.status or ptr.status,
        "header_state_district": header.state_district or ptr.state_district,
        "signature_date": header.signature_date,
        "transaction_count": len(transactions),
        "silver_key": obj.key,
    }
    return document, transactions


def compact_documents(
    objects: Iterable[SilverObject], year: int
) -> tuple[pa.Table, pa.Table, list[SilverFailure]]:
    """Silver document records of one year -> (documents, transactions, failures)."""
    documents: dict[str, dict[str, Any]] = {}
    transactions: dict[str, list[dict[str, Any]]] = {}
    failures: list[SilverFailure] = []
    for obj in objects:
        try:
            document, rows = parse_document(obj, year)
        except RecordError as exc:
            failures.append(SilverFailure(obj.key, str(exc)))
            continue
        documents[document["doc_id"]] = document
        transactions[document["doc_id"]] = sorted(rows, key=lambda r: r["row"])
    doc_ids = sorted(documents)
    return (
        pa.Table.from_pylist([documents[d] for d in doc_ids], schema=schemas.DOCUMENTS),
        pa.Table.from_pylist([r for d in doc_ids for r in transactions[d]], schema=schemas.TRANSACTIONS),
        failures,
    )


def compact_year(
    snapshot: Any, snapshot_key: str, objects: Iterable[SilverObject], year: int
) -> tuple[YearTables, list[SilverFailure]]:
    filings, filing_failures = compact_filings(snapshot, year, snapshot_key)
    documents, transactions, document_failures = compact_documents(objects, year)
    return YearTables(filings, documents, transactions), filing_failures + document_failures
