"""Unreadable input gives a clear InvalidPdf; an e-filed PTR with no rows is a ParseFailure."""

from __future__ import annotations

import pytest
from extract_fixtures import MIRROR, ONE_PAGE, build_pdf, require

from services.extract.analyze import analyze_document
from services.extract.errors import InvalidPdf, ParseFailure

HTML_404 = b"<!DOCTYPE html><html><head><title>404 - File or directory not found.</title></head></html>"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (HTML_404, "not_pdf"),
        (b"%PDF-1.7\n" + b"\x00garbage" * 50 + b"\n%%EOF\n", "malformed"),
    ],
    ids=["empty", "html", "garbage"],
)
def test_invalid_bytes(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidPdf) as info:
        analyze_document(data)
    assert info.value.reason == reason
    assert reason in str(info.value)


def test_truncated_real_pdf() -> None:
    data = require(MIRROR / "ptr-pdfs" / "2025" / "20026590.pdf").read_bytes()
    with pytest.raises(InvalidPdf) as info:
        analyze_document(data[: len(data) // 2])
    assert info.value.reason == "truncated"


def test_encrypted_pdf() -> None:
    # Standard security handler whose /U does not match the empty user password.
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -4 >>"
    data = build_pdf(
        [*ONE_PAGE, encrypt], b"/Encrypt 4 0 R /ID [<" + b"33" * 16 + b"> <" + b"33" * 16 + b">] "
    )
    with pytest.raises(InvalidPdf) as info:
        analyze_document(data)
    assert info.value.reason == "encrypted"


def test_blank_pdf_is_scanned_not_a_ptr() -> None:
    result = analyze_document(build_pdf(ONE_PAGE))
    assert (result["rendering"], result["ptr"], result["pages"]) == ("scanned", None, 1)


def test_efiled_non_ptr_forced_as_ptr_fails_loudly() -> None:
    data = require(MIRROR / "financial-pdfs" / "2025" / "10063342.pdf").read_bytes()
    with pytest.raises(ParseFailure) as info:
        analyze_document(data, "10063342", filing_type="P")
    assert info.value.reason == "no_table"


def test_known_non_ptr_type_skips_ptr_parsing() -> None:
    data = require(MIRROR / "ptr-pdfs" / "2025" / "20026590.pdf").read_bytes()
    assert analyze_document(data, filing_type="C")["ptr"] is None
