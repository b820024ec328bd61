"""Read the Clerk's yearly index ({YEAR}FD.zip holding {YEAR}FD.xml) safely.

The zip and the XML come from the network, so both are parsed defensively: a size cap on what
the zip expands to, and defusedxml so entity expansion and external entities are refused.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

MAX_XML_BYTES = 64 * 1024 * 1024


class IndexError_(ValueError):
    """The index could not be read; `reason` is a short machine code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class IndexRow:
    doc_id: str
    year: int
    prefix: str
    first: str
    last: str
    suffix: str
    filing_type: str
    state_district: str
    filing_date: date | None

    @property
    def filer_name(self) -> str:
        return " ".join(p for p in (self.prefix, self.first, self.last, self.suffix) if p)

    @property
    def fingerprint(self) -> str:
        """What makes a filing 'changed' in a later index: everything the index says about it."""
        text = "|".join(
            [self.filing_type, self.filing_date.isoformat() if self.filing_date else "", self.last,
             self.first, self.state_district, str(self.year)]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def as_record(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "year": self.year,
            "prefix": self.prefix or None,
            "first": self.first,
            "last": self.last,
            "suffix": self.suffix or None,
            "filing_type": self.filing_type,
            "state_district": self.state_district or None,
            "filing_date": self.filing_date.isoformat() if self.filing_date else None,
        }


@dataclass(frozen=True)
class ParsedIndex:
    rows: list[IndexRow]  # deduplicated, in index order
    raw_rows: int


def xml_from_zip(data: bytes, year: int) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise IndexError_("bad_zip", f"{year}FD.zip is not a readable zip archive: {exc}") from exc
    name = f"{year}FD.xml"
    try:
        info = archive.getinfo(name)
    except KeyError as exc:
        raise IndexError_("missing_xml", f"{year}FD.zip holds no {name} (has {archive.namelist()[:5]})") from exc
    if info.file_size > MAX_XML_BYTES:
        raise IndexError_("too_large", f"{name} expands to {info.file_size} bytes (cap {MAX_XML_BYTES})")
    try:
        with archive.open(info) as handle:
            xml = handle.read(MAX_XML_BYTES + 1)
    # zlib.error: a corrupt deflate stream; RuntimeError: an encrypted member;
    # NotImplementedError: a compression method zipfile cannot read.
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile, zlib.error, RuntimeError,
            NotImplementedError) as exc:
        raise IndexError_("bad_zip", f"{name} could not be decompressed: {exc}") from exc
    if len(xml) > MAX_XML_BYTES:
        raise IndexError_("too_large", f"{name} expands past {MAX_XML_BYTES} bytes")
    return xml


def _parse_date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%m/%d/%Y").date()
    except ValueError:
        return None


def parse_xml(xml: bytes, year: int) -> ParsedIndex:
    try:
        root = ElementTree.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise IndexError_("unsafe_xml", f"{year}FD.xml refused: {type(exc).__name__} ({exc})") from exc
    except ElementTree.ParseError as exc:
        raise IndexError_("malformed_xml", f"{year}FD.xml is not well-formed XML: {exc}") from exc
    seen: set[str] = set()
    rows: list[IndexRow] = []
    raw = 0
    for member in root.iter("Member"):
        raw += 1

        def text(tag: str, node=member) -> str:
            child = node.find(tag)
            return (child.text or "").strip() if child is not None else ""

        doc_id = text("DocID")
        if not doc_id or doc_id in seen:
            continue
        seen.add(doc_id)
        row_year = text("Year")
        rows.append(
            IndexRow(
                doc_id=doc_id,
                year=int(row_year) if row_year.isdigit() else year,
                prefix=text("Prefix"),
                first=text("First"),
                last=text("Last"),
                suffix=text("Suffix"),
                filing_type=text("FilingType") or "?",
                state_district=text("StateDst"),
                filing_date=_parse_date(text("FilingDate")),
            )
        )
    if raw == 0 and root.tag != "FinancialDisclosure":
        raise IndexError_("malformed_xml", f"{year}FD.xml has no <FinancialDisclosure> root (found <{root.tag}>)")
    return ParsedIndex(rows=rows, raw_rows=raw)


def parse_index_zip(data: bytes, year: int) -> ParsedIndex:
    return parse_xml(xml_from_zip(data, year), year)
