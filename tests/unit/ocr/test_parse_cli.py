"""`disclosures parse` on many files and folders, with the OCR stage's reading of scanned filings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.common.config import shared_fixtures
from services.ocr.model import OcrResult, OcrRow

MIRROR_2025 = shared_fixtures() / "house-clerk" / "mirror-2025" / "public_disc" / "ptr-pdfs" / "2025"
EFILED, SCANNED = "20026590", "8221237"


def require(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared fixture {path} is absent")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An e-filed PTR, a scanned PTR and a file that is not a PDF, in a folder and a subfolder."""
    root = tmp_path / "pdfs"
    (root / "sub").mkdir(parents=True)
    shutil.copy(require(MIRROR_2025 / f"{EFILED}.pdf"), root / f"{EFILED}.pdf")
    shutil.copy(require(MIRROR_2025 / f"{SCANNED}.pdf"), root / "sub" / f"{SCANNED}.pdf")
    (root / "sub" / "404.pdf").write_text("<html>Not Found</html>")
    (root / "notes.txt").write_text("not a PDF, not listed")
    return root


def fake_reader(result: OcrResult):
    def read(pdf_bytes: bytes, doc_id: str | None) -> OcrResult:
        assert pdf_bytes.startswith(b"%PDF-") and doc_id == SCANNED
        return result

    return read


def typed() -> OcrResult:
    rows = [OcrRow(row=1, page=1, asset_name="Apple Inc.", transaction_type="P", confidence=1.0),
            OcrRow(row=2, page=1, asset_name="Microsoft", transaction_type="S", confidence=0.5, needs_review=["date"])]
    return OcrResult(layout="checkbox", pages=1, engine="fake", transactions=rows, filer_name="Jane Doe")


def invoke(args: list[str], monkeypatch, result: OcrResult | None = None):
    from infra.cli import parse_cmd
    from infra.cli.main import app

    if result is not None:
        monkeypatch.setattr(parse_cmd, "ocr_reader", lambda: fake_reader(result))
    return CliRunner().invoke(app, ["parse", *args])


def lines(output: str) -> dict[str, dict]:
    return {d["doc_id"]: d for d in map(json.loads, output.splitlines())}


def test_a_folder_gives_one_json_line_per_pdf_and_ocr_reads_the_scan(folder, monkeypatch):
    result = invoke([str(folder), "--jsonl"], monkeypatch, typed())
    assert result.exit_code == 1  # one file is not a PDF
    docs = lines(result.stdout)
    assert set(docs) == {EFILED, SCANNED, "404"}
    assert docs[EFILED]["rendering"] == "efiled" and len(docs[EFILED]["transactions"]) > 0
    assert all(r.get("source", "efiled") == "efiled" for r in docs[EFILED]["transactions"])
    scanned = docs[SCANNED]
    assert scanned["is_ptr"] and scanned["rendering"] == "scanned" and scanned["ocr"]["engine"] == "fake"
    assert [(r["source"], r["needs_review"]) for r in scanned["transactions"]] == [("ocr", []), ("ocr", ["date"])]
    assert scanned["file"].endswith(f"sub/{SCANNED}.pdf")
    assert docs["404"]["error"] == "not_pdf" and "HTML" in docs["404"]["message"]


def test_a_scan_the_reader_cannot_read_is_an_error_line_with_its_reason(folder, monkeypatch):
    handwritten = OcrResult(layout="handwritten", pages=1, engine="fake", failure_reason="handwritten",
                            failure_message="every page is handwritten")
    result = invoke([str(folder / "sub" / f"{SCANNED}.pdf"), "--jsonl"], monkeypatch, handwritten)
    assert result.exit_code == 1
    assert lines(result.stdout)[SCANNED]["error"] == "handwritten"


def test_a_scan_that_is_not_a_ptr_has_no_rows(folder, monkeypatch):
    not_ptr = OcrResult(layout="not_ptr", pages=1, engine="fake", failure_reason="not_ptr")
    result = invoke([str(folder / "sub" / f"{SCANNED}.pdf")], monkeypatch, not_ptr)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["is_ptr"] is False and document["transactions"] == [] and document["ocr"]["layout"] == "not_ptr"


def test_without_ocr_a_scan_is_reported_with_no_rows(folder, monkeypatch):
    from infra.cli import parse_cmd

    monkeypatch.setattr(parse_cmd, "ocr_reader", lambda: pytest.fail("the reader was loaded"))
    result = invoke([str(folder / f"{EFILED}.pdf"), str(folder / "sub" / f"{SCANNED}.pdf"), "--no-ocr"], monkeypatch)
    assert result.exit_code == 0, result.output
    docs = lines(result.stdout)  # many files: one line each
    assert docs[SCANNED]["rendering"] == "scanned" and docs[SCANNED]["transactions"] == []


def test_doc_id_names_a_single_file_and_an_empty_folder_is_an_error(folder, tmp_path, monkeypatch):
    assert invoke([str(folder), "--doc-id", "X"], monkeypatch).exit_code == 2
    (tmp_path / "empty").mkdir()
    result = invoke([str(tmp_path / "empty")], monkeypatch)
    assert result.exit_code == 2 and "no PDF found" in result.output


def test_where_the_reader_cannot_load_a_scan_fails_with_ocr_unavailable(folder, monkeypatch):
    from infra.cli import parse_cmd

    def missing():
        raise ImportError("No module named 'tesserocr'")

    monkeypatch.setattr(parse_cmd, "ocr_reader", missing)
    result = invoke([str(folder / f"{EFILED}.pdf"), str(folder / "sub" / f"{SCANNED}.pdf")], monkeypatch)
    docs = lines(result.stdout)
    assert result.exit_code == 1 and docs[SCANNED]["error"] == "ocr_unavailable" and "tesserocr" in docs[SCANNED]["message"]
    assert docs[EFILED]["transactions"]


def test_the_real_reader_reads_a_real_scan(folder, monkeypatch):
    """No stand-in: Tesseract on a real typed paper PTR, as `disclosures parse` runs it."""
    result = invoke([str(folder / "sub" / f"{SCANNED}.pdf"), "--jsonl"], monkeypatch)
    assert result.exit_code == 0, result.output
    scanned = lines(result.stdout)[SCANNED]
    assert scanned["is_ptr"] and scanned["ocr"]["engine"].startswith("tesseract")
    assert scanned["transactions"] and all(r["source"] == "ocr" for r in scanned["transactions"])
