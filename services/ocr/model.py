"""What the OCR reader returns for one scanned filing: the contract between the reader and the OCR stage.

A row has the keys of an e-filed PTR row (services/extract/ptr/parser.py `finish_row`), so silver,
Gold and the API treat both alike, plus `source` and `needs_review`: the reasons a person should
check the row against its page before trusting it. Nothing here is guessed: a cell that could not
be read is None and named in `needs_review`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Layout = Literal["checkbox", "old_form", "spreadsheet", "handwritten", "not_ptr", "unreadable"]
PageKind = Literal["cover", "form", "attachment", "handwritten", "blank", "other"]


class OcrRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    row: int
    owner: str | None = None
    asset_name: str | None = None
    ticker: str | None = None
    asset_type: str | None = None
    transaction_type: str | None = None
    transaction_date: str | None = None
    notification_date: str | None = None
    amount_low: float | None = None
    amount_high: float | None = None
    cap_gains_over_200: bool | None = None
    filing_status: str | None = None
    transaction_id: str | None = None
    description: str | None = None
    subholding_of: str | None = None
    location: str | None = None
    comments: str | None = None
    page: int
    amount_text: str | None = None
    unconsumed: list[str] = Field(default_factory=list)
    confidence: float = Field(ge=0.0, le=1.0, description="Share of the row's checks that passed")
    checks_failed: list[str] = Field(default_factory=list)
    source: Literal["ocr"] = "ocr"
    needs_review: list[str] = Field(default_factory=list, description="Why a person should check this row")


class OcrPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int
    rotation: int = Field(description="Degrees the page image was turned to read it (0, 90, 180, 270)")
    kind: PageKind
    word_confidence: float | None = Field(None, description="Mean Tesseract word confidence, 0-100")


class OcrResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layout: Layout
    pages: int
    page_info: list[OcrPage] = Field(default_factory=list)
    filer_name: str | None = None
    state_district: str | None = None
    signature_date: str | None = None
    transactions: list[OcrRow] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    failure_reason: str | None = Field(
        None, description="Machine code when no row can be given: handwritten, not_ptr, unreadable, no_rows, "
        "too_many_pages, page_too_large",
    )
    failure_message: str | None = None
    engine: str = Field(description="Engine and version, e.g. 'tesseract 5.3.0'")
    cpu_seconds: float = 0.0
