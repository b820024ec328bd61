"""A document's state: one vocabulary for the watermark, the ledger and silver, with the moves
allowed between states. The watermark enforces the moves (its writes are conditional on them);
the ledger and silver name their outcomes from the same states."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class DocumentState(StrEnum):
    STORED = "stored"                  # fetched: the bytes are in bronze, not yet read
    FETCH_FAILED = "fetch_failed"      # the source gave no usable PDF (missing, not a PDF, empty ...)
    EXTRACTED = "extracted"            # read from its text layer
    NEEDS_OCR = "needs_ocr"            # a scan: no text layer to read
    EXTRACT_FAILED = "extract_failed"  # the PDF is broken (truncated, malformed, too many pages ...)
    OCR_EXTRACTED = "ocr_extracted"    # a scan read by the OCR stage
    OCR_FAILED = "ocr_failed"          # a scan the OCR stage could not read (handwritten, no rows ...)


S = DocumentState
Stage = Literal["fetch", "extract", "ocr"]

# The states each stage ends a document in.
STAGE_STATES: dict[Stage, frozenset[DocumentState]] = {
    "fetch": frozenset({S.STORED, S.FETCH_FAILED}),
    "extract": frozenset({S.EXTRACTED, S.NEEDS_OCR, S.EXTRACT_FAILED}),
    "ocr": frozenset({S.OCR_EXTRACTED, S.OCR_FAILED}),
}
FAILED = frozenset({S.FETCH_FAILED, S.EXTRACT_FAILED, S.OCR_FAILED})
# A failed source document, asked for again on a back-off schedule: the Clerk sometimes fixes the
# file. An OCR failure is the reader's, not the file's: a new OCR version reads it again instead.
RETRIED = frozenset({S.FETCH_FAILED, S.EXTRACT_FAILED})
# Stored bytes that extract has read (so a new parser version reads them again).
READ = STAGE_STATES["extract"] | STAGE_STATES["ocr"]
# Stored bytes, read or not: what a reprocess request can extract again.
HAS_BYTES = READ | {S.STORED}

# state -> the states it may move to; None is a document without a state yet. Any document may
# get a new version (stored) or fail to (fetch_failed); extract reads stored bytes, again on
# request or for a new parser version (a PDF put in bronze by hand is read without a fetch); OCR
# reads what extract found scanned, again for a new OCR version.
TRANSITIONS: dict[DocumentState | None, frozenset[DocumentState]] = {
    None: STAGE_STATES["fetch"] | STAGE_STATES["extract"],
    S.FETCH_FAILED: STAGE_STATES["fetch"],
    **{state: STAGE_STATES["fetch"] | STAGE_STATES["extract"] for state in (S.STORED, S.EXTRACTED, S.EXTRACT_FAILED)},
    **{state: STAGE_STATES["fetch"] | STAGE_STATES["extract"] | STAGE_STATES["ocr"]
       for state in (S.NEEDS_OCR, S.OCR_EXTRACTED, S.OCR_FAILED)},
}

# How versions before this vocabulary spelled a state in the watermark: "failed" was a fetch
# failure there (an extraction failure was already "extract_failed").
_LEGACY_MARK = {"failed": S.FETCH_FAILED}


def sources(target: DocumentState) -> frozenset[DocumentState]:
    """The states from which `target` may be reached (an unseen document aside)."""
    return frozenset(s for s, targets in TRANSITIONS.items() if s is not None and target in targets)


def stored_spellings(states: frozenset[DocumentState]) -> list[str]:
    """The values a watermark may hold for these states, old spellings included (for conditions
    on items written before this vocabulary)."""
    return sorted({*states, *(old for old, new in _LEGACY_MARK.items() if new in states)})


def read_mark(value: str | None) -> DocumentState | None:
    """A watermark's stored status as a state; an item written before this vocabulary reads as
    what it meant. An unknown value is an error: it would make every decision on it wrong."""
    if value is None:
        return None
    if value in _LEGACY_MARK:
        return _LEGACY_MARK[value]
    return DocumentState(value)


LEGACY_SILVER = frozenset({"failed", "extracted"})  # the values `read_silver` may read as another state


def read_silver(value: str, *, ocr: bool) -> DocumentState:
    """A silver record's `extraction_status` as a state. Records written before this vocabulary
    said "failed" for both a broken PDF and an unreadable scan, and "extracted" for a scan read
    by OCR: the record's OCR part tells them apart."""
    if value == "failed":
        return S.OCR_FAILED if ocr else S.EXTRACT_FAILED
    if value == "extracted" and ocr:
        return S.OCR_EXTRACTED
    return DocumentState(value)


# The public status of a filing in Gold and the API: the coarse outcome users filter on. "missing"
# is a filing of the index with no document read (never fetched, or its fetch failed).
PublicStatus = Literal["extracted", "needs_ocr", "failed", "missing"]
_PUBLIC: dict[DocumentState, PublicStatus] = {
    S.EXTRACTED: "extracted", S.OCR_EXTRACTED: "extracted", S.NEEDS_OCR: "needs_ocr",
    S.EXTRACT_FAILED: "failed", S.OCR_FAILED: "failed", S.STORED: "missing", S.FETCH_FAILED: "missing",
}


def public_status(state: DocumentState | None) -> PublicStatus:
    return "missing" if state is None else _PUBLIC[state]


def describe() -> dict[str, object]:
    """The state machine, for schemas/states.json."""
    return {
        "states": {s.value: s.name for s in DocumentState},
        "stages": {stage: sorted(states) for stage, states in STAGE_STATES.items()},
        "transitions": {(s or "unseen"): sorted(t) for s, t in TRANSITIONS.items()},
        "failed": sorted(FAILED),
        "retried": sorted(RETRIED),
        "public_status": {s.value: p for s, p in _PUBLIC.items()},
        "legacy_watermark_spellings": dict(_LEGACY_MARK),
    }
