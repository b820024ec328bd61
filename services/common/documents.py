"""The JSON documents in S3 that one stage writes and later ones read, typed: a reader parses
one once and gets named fields, and `schemas/documents/` is generated from these models.

- `GoldManifest`: what one Gold build wrote (`keys.gold_manifest_key`), published or rejected;
  the pointer (`keys.GOLD_POINTER_KEY`) is a copy of the live version's. Written by build_gold,
  read by build_gold (the next build, retention), publish_api, the API and the CLI.
- `SiteMeta`: `api/meta.json` in the site bucket, written last by publish_api (the flip), read
  by the API and by Gold retention.
- `SilverDocument`: one filing's extraction (`keys.document_key`), written by extract, completed
  by the OCR stage, read by build_gold; `FilingsSnapshot`: a year's index as discover read it
  (`keys.filings_key`). Both are read strictly (a wrong type is an error naming the field, not a
  coerced value): a record that does not fit is reported by the build, never guessed at.

`read_pointer` is the one reader of the Gold pointer.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from botocore.exceptions import ClientError
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from services.common import keys, objects, states
from services.common.states import DocumentState

# 2: `format_version` and `filings_digests` are written. A manifest without `format_version` was
# written before it existed (1); one without digests is rebuilt once by the next run.
MANIFEST_FORMAT = 2


class _Document(BaseModel):
    # A field a newer writer adds must not break an older reader during a deploy.
    model_config = ConfigDict(extra="ignore", frozen=True)


class GoldManifest(_Document):
    format_version: int = Field(1, description="The manifest's layout (MANIFEST_FORMAT); absent: 1")
    version: str
    status: Literal["published", "rejected"] = "published"
    built_at: str | None = None
    run_id: str | None = None
    previous_version: str | None = Field(None, description="The version live when this one was built")
    years: list[int] = Field(default_factory=list)
    rebuilt_years: list[int] = Field(default_factory=list)
    row_counts: dict[str, int] = Field(default_factory=dict)
    quality: dict[str, Any] = Field(default_factory=dict, description="The quality gate's report")
    legislators_sha256: str | None = None
    former_legislators_sha256: str | None = None
    filings_digests: dict[str, str | None] | None = Field(
        None, description="Per year, the digest of the index snapshot built from; absent in format 1")
    silver_bucket: str | None = None
    silver_tables: dict[str, dict[str, str]] = Field(default_factory=dict, description="table -> year -> key")
    gold_bucket: str | None = None
    tables: dict[str, list[str]] = Field(default_factory=dict, description="table -> Parquet keys")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class SiteMeta(_Document):
    gold_version: str
    answers_prefix: str | None = None  # None: the API computes every answer from Gold
    previous_gold_version: str | None = None
    gold_bucket: str | None = None
    built_at: str | None = None
    published_at: str | None = None
    run_id: str | None = None
    years: list[int] = Field(default_factory=list)
    row_counts: dict[str, int] = Field(default_factory=dict)
    objects: int = 0
    members: int = 0
    tickers: int = 0
    static_sha256: str | None = None


def _clean(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def _iso_date(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"expected an ISO date, got {value!r}") from exc
    return value


def _iso_instant(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"expected an ISO datetime, got {value!r}") from exc
        # Naive instants are taken as UTC, the pipeline's only clock.
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


Text = Annotated[str | None, AfterValidator(_clean)]  # stripped; blank is None
IsoDate = Annotated[date | None, BeforeValidator(_iso_date)]
Instant = Annotated[datetime | None, BeforeValidator(_iso_instant)]
DocId = Annotated[str, AfterValidator(str.strip), Field(min_length=1)]
Texts = Annotated[list[Text], BeforeValidator(_none_as_empty), AfterValidator(lambda v: [t for t in v if t])]


class _Silver(BaseModel):
    # Strict: a number written as a string, or a flag as a number, is a writer's bug to report.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class SilverTransaction(_Silver):
    """One PTR row, from the e-filed text layer or from OCR."""

    row: int
    page: int | None = None
    owner: Text = None
    asset_name: Text = None
    ticker: Text = None
    asset_type: Text = None
    transaction_type: Text = None
    transaction_date: IsoDate = None
    notification_date: IsoDate = None
    amount_low: float | None = None
    amount_high: float | None = None
    cap_gains_over_200: bool | None = None
    filing_status: Text = None
    transaction_id: Text = None
    description: Text = None
    subholding_of: Text = None
    location: Text = None
    comments: Text = None
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    # Rows from before the OCR stage carry none: they were read from the e-filed text layer.
    source: Annotated[Literal["efiled", "ocr"], BeforeValidator(lambda v: v or "efiled")] = "efiled"
    needs_review: Texts = Field(default_factory=list)


class SilverFiler(_Silver):
    """The filer as the form's header (or the PTR's own header) names them."""

    filer_name: Text = None
    status: Text = None
    state_district: Text = None
    signature_date: IsoDate = None


class SilverPtr(SilverFiler):
    transactions: Annotated[list[SilverTransaction], BeforeValidator(_none_as_empty)] = Field(default_factory=list)


class SilverDocument(_Silver):
    doc_id: DocId
    year: int | None = None
    filing_type: Text = None
    filing_date: IsoDate = None
    filer_name: Text = None
    source_url: Text = None
    bronze_key: Text = None
    sha256: Text = None
    run_id: Text = None
    parser_version: Text = None
    extracted_at: Instant = None
    extraction_status: Annotated[DocumentState, Field(strict=False)]  # an extract or OCR state
    failure_reason: Text = None
    failure_message: Text = None
    rendering: Text = None
    pages: int | None = None
    header: SilverFiler | None = None
    ptr: SilverPtr | None = None
    warnings: Texts = Field(default_factory=list)
    # The text layer, page by page (empty without one). Records before this field kept it in a
    # separate text.json beside the record.
    page_text: Texts = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _state(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("extraction_status") in states.LEGACY_SILVER:
            data = {**data, "extraction_status": states.read_silver(data["extraction_status"], ocr=bool(data.get("ocr")))}
        return data

    @property
    def public_status(self) -> states.PublicStatus:
        return states.public_status(self.extraction_status)


class IndexFiling(_Silver):
    doc_id: DocId
    year: int | None = None
    prefix: Text = None
    first: Text = None
    last: Text = None
    suffix: Text = None
    filing_type: Text = None
    state_district: Text = None
    filing_date: IsoDate = None


class FilingsSnapshot(_Silver):
    year: int | None = None
    index_key: str | None = None
    run_id: str | None = None
    filings: Annotated[list[IndexFiling], BeforeValidator(_none_as_empty)] = Field(default_factory=list)


class PdfMetadata(BaseModel):
    """A bronze PDF's S3 user metadata: written by fetch with the object, read by extract (the
    silver record's provenance, the run and trace to announce in) and by the DLQ tools. S3
    metadata is ASCII: the filer's name is stored URL-quoted; an absent value is stored empty."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    run_id: str | None = Field(None, alias="run-id")
    doc_id: str | None = Field(None, alias="doc-id")
    filing_type: str | None = Field(None, alias="filing-type")
    filing_date: str | None = Field(None, alias="filing-date")
    filer_name: str | None = Field(None, alias="filer-name")
    source_url: str | None = Field(None, alias="source-url")
    trace: str | None = Field(None, description="X-Ray trace header of the run that stored it")

    def to_s3(self) -> dict[str, str]:
        values = self.model_dump(by_alias=True)
        values["filer-name"] = urllib.parse.quote(self.filer_name or "")
        return {name: value or "" for name, value in values.items()}

    @classmethod
    def from_s3(cls, metadata: dict[str, str]) -> PdfMetadata:
        values = {name: value or None for name, value in metadata.items()}
        if name := values.get("filer-name"):
            values["filer-name"] = urllib.parse.unquote(name)
        return cls.model_validate(values)


# What `disclosures schemas` exports to schemas/documents/ (the pointer is a GoldManifest).
DOCUMENTS: dict[str, type[BaseModel]] = {
    "gold-manifest": GoldManifest, "site-meta": SiteMeta, "silver-document": SilverDocument,
    "filings-snapshot": FilingsSnapshot, "bronze-pdf-metadata": PdfMetadata,
}


@dataclass(frozen=True)
class Pointer:
    """The live Gold version's manifest, and the ETag a compare-and-swap of the pointer needs."""

    manifest: GoldManifest
    etag: str

    @property
    def version(self) -> str:
        return self.manifest.version


def read_pointer(s3: Any, bucket: str) -> Pointer | None:
    try:
        response = s3.get_object(Bucket=bucket, Key=keys.GOLD_POINTER_KEY)
    except ClientError as error:
        if objects.is_missing(error):
            return None
        raise
    return Pointer(GoldManifest.model_validate(json.loads(response["Body"].read())), response["ETag"])


def read_manifest(s3: Any, bucket: str, version: str) -> GoldManifest | None:
    found = objects.get_json(s3, bucket, keys.gold_manifest_key(version))
    return None if found is None else GoldManifest.model_validate(found)


def read_site_meta(s3: Any, site_bucket: str) -> SiteMeta | None:
    """The published meta; None before the first publish, and for one that is not a meta (hand
    edited, cut short): the API then serves the pointer's version and the next publish rewrites it."""
    try:
        found = objects.get_json(s3, site_bucket, keys.SITE_META_KEY)
        return None if found is None else SiteMeta.model_validate(found)
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError and ValidationError are ValueErrors
        return None
