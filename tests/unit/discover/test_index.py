"""Reading the Clerk's yearly index: real files, and the hostile ones."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from services.discover.index import IndexError_, parse_index_zip, parse_xml, xml_from_zip


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_the_mirror_index_has_34_rows_and_32_filings(mirror_dir):
    parsed = parse_index_zip((mirror_dir / "public_disc/financial-pdfs/2025FD.zip").read_bytes(), 2025)
    assert parsed.raw_rows == 34
    assert len(parsed.rows) == 32
    assert [r.doc_id for r in parsed.rows].count("10072224") == 1
    pelosi = next(r for r in parsed.rows if r.doc_id == "20026590")
    assert (pelosi.last, pelosi.filing_type, pelosi.state_district) == ("Pelosi", "P", "CA11")
    assert pelosi.filer_name.endswith("Nancy Pelosi")


def test_the_full_2025_index(fixtures_dir):
    parsed = parse_xml((fixtures_dir / "house-clerk/index/2025FD.xml").read_bytes(), 2025)
    assert parsed.raw_rows == 1618
    types = {}
    for row in parsed.rows:
        types[row.filing_type] = types.get(row.filing_type, 0) + 1
    assert types["P"] == 471 and types["C"] == 563
    assert all(r.filing_date is None or r.filing_date.year >= 2024 for r in parsed.rows)
    assert any(len(r.doc_id) == 4 for r in parsed.rows)  # withdrawal notices have 4-digit DocIDs


def test_empty_fields_are_kept_empty_not_invented():
    xml = (b"<FinancialDisclosure><Member><Prefix /><Last>Doe</Last><First>J</First><Suffix />"
           b"<FilingType>C</FilingType><StateDst /><Year>2025</Year><FilingDate /><DocID>1</DocID></Member>"
           b"</FinancialDisclosure>")
    [row] = parse_xml(xml, 2025).rows
    assert row.state_district == "" and row.filing_date is None
    assert row.as_record()["state_district"] is None


def test_fingerprint_changes_only_with_what_the_index_says():
    xml = (b"<FinancialDisclosure><Member><Last>Doe</Last><First>J</First><FilingType>P</FilingType>"
           b"<Year>2025</Year><FilingDate>1/2/2025</FilingDate><DocID>1</DocID></Member></FinancialDisclosure>")
    [row] = parse_xml(xml, 2025).rows
    [same] = parse_xml(xml.replace(b"<DocID>", b" <DocID>"), 2025).rows
    [amended] = parse_xml(xml.replace(b"1/2/2025", b"1/3/2025"), 2025).rows
    assert row.fingerprint == same.fingerprint != amended.fingerprint
    assert amended.filing_date == date(2025, 1, 3)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_zip("2025FD.xml", b"<FinancialDisclosure>")[:40], "bad_zip"),
        (b"<!DOCTYPE html><html>404</html>", "bad_zip"),
        (_zip("other.xml", b"<x/>"), "missing_xml"),
        (_zip("2025FD.xml", b"<FinancialDisclosure><Member><DocID>1</Member>"), "malformed_xml"),
        (_zip("2025FD.xml", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
                            b"<FinancialDisclosure><Member><Last>&b;</Last></Member></FinancialDisclosure>"), "unsafe_xml"),
        (_zip("2025FD.xml", b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><FinancialDisclosure>&e;'
                            b"</FinancialDisclosure>"), "unsafe_xml"),
        (_zip("2025FD.xml", b"<Other/>"), "malformed_xml"),
    ],
    ids=["truncated", "html", "no-xml", "malformed", "entity-bomb", "external-entity", "wrong-root"],
)
def test_bad_indexes_fail_with_a_clear_reason(data, reason):
    with pytest.raises(IndexError_) as error:
        parse_index_zip(data, 2025)
    assert error.value.reason == reason
    assert "2025FD" in str(error.value)


def test_a_corrupt_compressed_stream_is_a_bad_zip():
    data = bytearray(_zip("2025FD.xml", b"<FinancialDisclosure>" + b"<Member><DocID>1</DocID></Member>" * 200 + b"</FinancialDisclosure>"))
    start = data.index(b"2025FD.xml") + len("2025FD.xml")
    data[start + 5:start + 40] = b"\xff" * 35  # garble the deflate stream, keep the directory
    with pytest.raises(IndexError_) as error:
        parse_index_zip(bytes(data), 2025)
    assert error.value.reason == "bad_zip"


def test_a_zip_bomb_is_refused_before_it_expands(monkeypatch):
    import services.discover.index as index

    monkeypatch.setattr(index, "MAX_XML_BYTES", 1000)
    with pytest.raises(IndexError_) as error:
        xml_from_zip(_zip("2025FD.xml", b"<a>" + b" " * 5000 + b"</a>"), 2025)
    assert error.value.reason == "too_large"
