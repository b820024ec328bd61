"""Silver records -> silver year tables (filings, documents, transactions), in a fixed order.

Every value is coerced to the schema's type here, so a record that does not fit is reported
as a `SilverFailure` naming its key instead of crashing the build or being dropped silently.
Order: filings and documents by doc_id, transactions by (doc_id, row): the same records
always give the same tables, whichever order S3 listed them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from services.build_gold import schemas

EXTRACTION_STATUSES = frozenset({"extracted", "needs_ocr", "failed"})
SOURCES = frozenset({"efiled", "ocr"})


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


# --- value coercion ---------------------------------------------------------------------------


def _str(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field}: expected a string, got {type(value).__name__}")
    return value.strip() or None


def _int(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{field}: expected an integer, got {value!r}")
    return value


def _float(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{field}: expected a number, got {value!r}")
    return float(value)


def _bool(value: Any, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise RecordError(f"{field}: expected a boolean, got {value!r}")


def _date(value: Any, field: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"{field}: expected an ISO date, got {value!r}") from exc


def _timestamp(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"{field}: expected an ISO datetime, got {value!r}") from exc
    # Naive instants are taken as UTC, the pipeline's only clock.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dict(value: Any, field: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise RecordError(f"{field}: expected an object, got {type(value).__name__}")


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{field}: expected a list, got {type(value).__name__}")
    return value


# --- filings ----------------------------------------------------------------------------------


def _filing_row(raw: Any, year: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise RecordError("filing: expected an object")
    doc_id = _str(raw.get("doc_id"), "doc_id")
    if not doc_id:
        raise RecordError("filing: doc_id is missing")
    return {
        "doc_id": doc_id,
        "year": _int(raw.get("year"), "year") or year,
        "prefix": _str(raw.get("prefix"), "prefix"),
        "first": _str(raw.get("first"), "first"),
        "last": _str(raw.get("last"), "last"),
        "suffix": _str(raw.get("suffix"), "suffix"),
        "filing_type": _str(raw.get("filing_type"), "filing_type"),
        "state_district": _str(raw.get("state_district"), "state_district"),
        "filing_date": _date(raw.get("filing_date"), "filing_date"),
    }


def compact_filings(snapshot: Any, year: int, key: str) -> tuple[pa.Table, list[SilverFailure]]:
    """The year's index snapshot -> filings table, one row per DocID.

    discover already deduplicates; repeated DocIDs are collapsed again here (the latest
    filing date wins) because a duplicate key would fail every later build.
    """
    try:
        snapshot = _dict(snapshot, "filings snapshot")
        if snapshot is None:
            raise RecordError("filings snapshot is null")
        rows = [_filing_row(raw, year) for raw in _list(snapshot.get("filings"), "filings")]
    except RecordError as exc:
        return pa.Table.from_pylist([], schema=schemas.FILINGS), [SilverFailure(key, str(exc))]
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        kept = latest.get(row["doc_id"])
        if kept is None or (row["filing_date"] or date.min) > (kept["filing_date"] or date.min):
            latest[row["doc_id"]] = row
    ordered = [latest[doc_id] for doc_id in sorted(latest)]
    return pa.Table.from_pylist(ordered, schema=schemas.FILINGS), []


# --- documents and transactions ---------------------------------------------------------------


def _transaction_row(raw: Any, doc_id: str, year: int, index: int) -> dict[str, Any]:
    field = f"ptr.transactions[{index}]"
    if not isinstance(raw, dict):
        raise RecordError(f"{field}: expected an object")
    row = _int(raw.get("row"), f"{field}.row")
    if row is None:
        raise RecordError(f"{field}.row is missing")
    confidence = _float(raw.get("confidence"), f"{field}.confidence")
    if confidence is not None and not 0.0 <= confidence <= 1.0:
        raise RecordError(f"{field}.confidence: {confidence} is outside 0..1")
    # Rows from before the OCR stage carry neither: they were read from the e-filed text layer.
    source = raw.get("source") or "efiled"
    if source not in SOURCES:
        raise RecordError(f"{field}.source: unknown value {source!r}")
    needs_review = [_str(r, f"{field}.needs_review[]") for r in _list(raw.get("needs_review"), f"{field}.needs_review")]
    return {
        "doc_id": doc_id,
        "year": year,
        "row": row,
        "page": _int(raw.get("page"), f"{field}.page"),
        "owner": _str(raw.get("owner"), f"{field}.owner"),
        "asset_name": _str(raw.get("asset_name"), f"{field}.asset_name"),
        "ticker": _str(raw.get("ticker"), f"{field}.ticker"),
        "asset_type": _str(raw.get("asset_type"), f"{field}.asset_type"),
        "transaction_type": _str(raw.get("transaction_type"), f"{field}.transaction_type"),
        "transaction_date": _date(raw.get("transaction_date"), f"{field}.transaction_date"),
        "notification_date": _date(raw.get("notification_date"), f"{field}.notification_date"),
        "amount_low": _float(raw.get("amount_low"), f"{field}.amount_low"),
        "amount_high": _float(raw.get("amount_high"), f"{field}.amount_high"),
        "cap_gains_over_200": _bool(raw.get("cap_gains_over_200"), f"{field}.cap_gains_over_200"),
        "filing_status": _str(raw.get("filing_status"), f"{field}.filing_status"),
        "transaction_id": _str(raw.get("transaction_id"), f"{field}.transaction_id"),
        "description": _str(raw.get("description"), f"{field}.description"),
        "subholding_of": _str(raw.get("subholding_of"), f"{field}.subholding_of"),
        "location": _str(raw.get("location"), f"{field}.location"),
        "comments": _str(raw.get("comments"), f"{field}.comments"),
        "confidence": confidence,
        "source": source,
        "needs_review": [r for r in needs_review if r],
    }


def parse_document(obj: SilverObject, year: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One silver document record -> (documents row, transactions rows); RecordError if malformed."""
    record = _dict(obj.record, "document")
    if record is None:
        raise RecordError("document is null")
    doc_id = _str(record.get("doc_id"), "doc_id")
    if not doc_id:
        raise RecordError("doc_id is missing")
    if f"doc_id={doc_id}/" not in obj.key:
        raise RecordError(f"doc_id {doc_id} does not match its key")
    status = record.get("extraction_status")
    if status not in EXTRACTION_STATUSES:
        raise RecordError(f"extraction_status: unknown value {status!r}")
    header = _dict(record.get("header"), "header") or {}
    ptr = _dict(record.get("ptr"), "ptr") or {}
    transactions = [
        _transaction_row(raw, doc_id, year, i)
        for i, raw in enumerate(_list(ptr.get("transactions"), "ptr.transactions"))
    ]
    rows = [t["row"] for t in transactions]
    if len(set(rows)) != len(rows):
        raise RecordError("ptr.transactions: repeated row numbers")
    warnings = [_str(w, "warnings[]") for w in _list(record.get("warnings"), "warnings")]
    document = {
        "doc_id": doc_id,
        "year": year,
        "filing_type": _str(record.get("filing_type"), "filing_type"),
        "filing_date": _date(record.get("filing_date"), "filing_date"),
        "source_url": _str(record.get("source_url"), "source_url"),
        "bronze_key": _str(record.get("bronze_key"), "bronze_key"),
        "sha256": _str(record.get("sha256"), "sha256"),
        "run_id": _str(record.get("run_id"), "run_id"),
        "extraction_status": status,
        "failure_reason": _str(record.get("failure_reason"), "failure_reason"),
        "rendering": _str(record.get("rendering"), "rendering"),
        "pages": _int(record.get("pages"), "pages"),
        "filer_name": _str(header.get("filer_name") or ptr.get("filer_name"), "header.filer_name"),
        "filer_status": _str(header.get("status") or ptr.get("status"), "header.status"),
        "header_state_district": _str(
            header.get("state_district") or ptr.get("state_district"), "header.state_district"
        ),
        "signature_date": _date(header.get("signature_date"), "header.signature_date"),
        "transaction_count": len(transactions),
        "warnings": [w for w in warnings if w],
        "parser_version": _str(record.get("parser_version"), "parser_version"),
        "extracted_at": _timestamp(record.get("extracted_at"), "extracted_at"),
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
