"""The three hand-verified golden PTRs must come out exactly, field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from extract_fixtures import GOLDEN_DIR, MIRROR, analysis, require

GOLDEN_FILES = sorted(GOLDEN_DIR.glob("*.json")) if GOLDEN_DIR.is_dir() else []
DOC_FIELDS = ("doc_id", "filer_name", "status", "state_district", "pages", "rendering")


def _parsed(golden_path: Path) -> tuple[dict, dict]:
    golden = json.loads(golden_path.read_text())
    pdf = require(MIRROR / "ptr-pdfs" / "2025" / f"{golden['doc_id']}.pdf")
    return golden, analysis(pdf)["ptr"]


@pytest.mark.parametrize("golden_path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_document_fields(golden_path: Path) -> None:
    golden, ptr = _parsed(golden_path)
    assert {f: ptr[f] for f in DOC_FIELDS} == {f: golden[f] for f in DOC_FIELDS}
    assert ptr["warnings"] == []


@pytest.mark.parametrize("golden_path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_every_row_and_field(golden_path: Path) -> None:
    golden, ptr = _parsed(golden_path)
    assert len(ptr["transactions"]) == len(golden["transactions"])
    for expected, got in zip(golden["transactions"], ptr["transactions"], strict=True):
        assert {k: got[k] for k in expected} == expected, f"row {expected['row']}"
        assert got["confidence"] == 1.0 and got["checks_failed"] == []


def test_golden_files_present() -> None:
    require(GOLDEN_DIR)
    assert len(GOLDEN_FILES) == 3
