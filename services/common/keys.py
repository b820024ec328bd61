"""The S3 key layout: the one place that knows where every object lives.

Bronze keys are immutable and content-addressed (the sha256 is in the key), so a retry that
stores the same bytes writes the same key and a changed source never overwrites history.
Silver holds one folder per document (no shared file has two writers); `build_gold` is the
only writer of the year tables and of Gold, each written as a new version then pointed to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

SOURCE = "house-fd"

_PDF_KEY = re.compile(
    rf"^{SOURCE}/pdf/year=(?P<year>\d{{4}})/type=(?P<filing_type>[A-Z0-9]{{1,2}})/"
    r"doc_id=(?P<doc_id>[^/]+)/sha256=(?P<sha256>[0-9a-f]{64})\.pdf$"
)


def index_key(year: int, sha256: str) -> str:
    return f"{SOURCE}/index/year={year}/sha256={sha256}/{year}FD.zip"


def pdf_key(year: int, filing_type: str, doc_id: str, sha256: str) -> str:
    return f"{SOURCE}/pdf/year={year}/type={filing_type}/doc_id={doc_id}/sha256={sha256}.pdf"


@dataclass(frozen=True)
class PdfKey:
    year: int
    filing_type: str
    doc_id: str
    sha256: str


def parse_pdf_key(key: str) -> PdfKey | None:
    """Parse a bronze PDF key; None for any other key (e.g. the index zips)."""
    match = _PDF_KEY.match(key)
    if not match:
        return None
    return PdfKey(
        year=int(match["year"]),
        filing_type=match["filing_type"],
        doc_id=match["doc_id"],
        sha256=match["sha256"],
    )


def filings_key(year: int) -> str:
    """Silver snapshot of a year's deduplicated index rows (written by discover)."""
    return f"{SOURCE}/filings/year={year}/filings.json"


# S3 metadata of the filings snapshot: the digest of its rows, so build_gold can tell by a HEAD
# whether the live Gold version was built from the same filings. It is not the index's sha256:
# the Clerk rebuilds the zip daily with new bytes and the same rows.
FILINGS_DIGEST_METADATA = "filings-sha256"


def document_prefix(year: int, doc_id: str) -> str:
    return f"{SOURCE}/documents/year={year}/doc_id={doc_id}/"


def document_key(year: int, doc_id: str) -> str:
    """Silver per-document record: classification, header, parsed PTR rows, page text, status."""
    return document_prefix(year, doc_id) + "document.json"


def document_ocr_key(year: int, doc_id: str) -> str:
    """Silver per-document OCR result of a scanned PTR: what the reader returned, for which bytes."""
    return document_prefix(year, doc_id) + "ocr.json"


def documents_year_prefix(year: int) -> str:
    return f"{SOURCE}/documents/year={year}/"


SILVER_TABLES_PREFIX = f"{SOURCE}/tables/"
GOLD_VERSIONS_PREFIX = f"{SOURCE}/gold/version="

_SILVER_TABLE_KEY = re.compile(
    rf"^{re.escape(SILVER_TABLES_PREFIX)}(?P<table>[^/]+)/year=(?P<year>\d{{4}})/version=(?P<version>[^/]+)/part-0\.parquet$"
)
_GOLD_VERSION_KEY = re.compile(rf"^{re.escape(GOLD_VERSIONS_PREFIX)}(?P<version>[^/]+)/")


def silver_table_key(table: str, year: int, version: str) -> str:
    return f"{SILVER_TABLES_PREFIX}{table}/year={year}/version={version}/part-0.parquet"


def silver_table_version(key: str) -> str | None:
    """The Gold version that wrote a silver year table; None for any other key."""
    match = _SILVER_TABLE_KEY.match(key)
    return match["version"] if match else None


def gold_version_prefix(version: str) -> str:
    return f"{GOLD_VERSIONS_PREFIX}{version}/"


def gold_key_version(key: str) -> str | None:
    """The version a key under a Gold version prefix belongs to; None for the pointer and others."""
    match = _GOLD_VERSION_KEY.match(key)
    return match["version"] if match else None


def gold_table_key(version: str, table: str) -> str:
    return f"{gold_version_prefix(version)}{table}.parquet"


GOLD_POINTER_KEY = f"{SOURCE}/gold/_current.json"


def gold_partition_key(version: str, table: str, year: int) -> str:
    """A year partition of a Gold table (facts are partitioned by filing year)."""
    return f"{gold_version_prefix(version)}{table}/year={year}/part-0.parquet"


def gold_manifest_key(version: str) -> str:
    """What one build wrote and how its checks went, published or rejected."""
    return f"{gold_version_prefix(version)}_manifest.json"


def reference_key(name: str, sha256: str) -> str:
    """Reference data (e.g. congress-legislators), stored like any other source: by content."""
    return f"reference/{name}/sha256={sha256}/{name}"


# --- the site bucket: the website, its feeds, and the API's precomputed answers -----------------
# Each Gold version's answers have a prefix of their own, written in full before `api/meta.json`
# names it and never rewritten with another version's data, so a reader that takes the prefix
# from the meta it loaded gets that version's answers only. The `*_key` functions name an answer
# inside a version's prefix; the API's routes and publish_api both use them. Everything under
# `api/` is private (the bucket policy denies it to CloudFront).
SITE_META_KEY = "api/meta.json"
API_PREFIX = "api/v1/"
ANSWERS_ROOT = API_PREFIX + "versions/"


def answers_prefix(version: str) -> str:
    return f"{ANSWERS_ROOT}{version}/"


def answers_version(key: str) -> str | None:
    """The version whose answers prefix holds `key`; None for a key outside every version's."""
    if not key.startswith(ANSWERS_ROOT):
        return None
    return key[len(ANSWERS_ROOT) :].split("/", 1)[0] or None


def summary_key() -> str:
    return "summary.json"


def latest_trades_key() -> str:
    return "trades/latest.json"


def trending_key(window: int) -> str:
    return f"trending/{window}.json"


def member_key_of(member_key: str) -> str:
    return f"members/{quote(member_key, safe='')}.json"


def ticker_key_of(ticker: str) -> str:
    return f"tickers/{quote(ticker.upper(), safe='')}.json"


def latest_feed_key() -> str:
    return "feeds/latest.xml"


def member_feed_key(member_key: str) -> str:
    return f"feeds/members/{quote(member_key, safe='')}.xml"


def ticker_feed_key(ticker: str) -> str:
    return f"feeds/tickers/{quote(ticker.upper(), safe='')}.xml"
