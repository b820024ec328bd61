"""Real scanned PTRs from the shared fixtures; the tests skip when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.config import shared_fixtures

SCANNED_DIR = shared_fixtures() / "house-clerk" / "mirror-2025" / "public_disc" / "ptr-pdfs" / "2025"
GOLDEN_DIR = shared_fixtures() / "golden" / "ptr-scanned"


def scanned_pdf(doc_id: str) -> Path:
    path = SCANNED_DIR / f"{doc_id}.pdf"
    if not path.is_file():
        pytest.skip(f"shared fixture {path} absent")
    return path
