"""Shared fixtures for the extraction tests: real PDFs read by path from ../shared/fixtures."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from services.common.config import shared_fixtures
from services.extract.analyze import analyze_document

FIXTURES = shared_fixtures()
GOLDEN_DIR = FIXTURES / "golden" / "ptr"
MIRROR = FIXTURES / "house-clerk" / "mirror" / "public_disc"
YEAR_2025_PTRS = FIXTURES / "house-clerk" / "mirror-2025" / "public_disc" / "ptr-pdfs" / "2025"
CORPUS = FIXTURES / "house-clerk" / "ptr-corpus"


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared fixtures not available: {path} is absent")
    return path


def pdf_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pdf")) if folder.is_dir() else []


@cache
def analysis(path: Path) -> dict[str, Any]:
    """Analysis of a fixture PDF, computed once per test session."""
    return analyze_document(path.read_bytes(), path.stem)


def build_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A minimal PDF with a correct xref table around the given object bodies."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer_extra,
        xref,
    )
    return bytes(out)


ONE_PAGE = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
]
