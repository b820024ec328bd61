"""The evaluation scores drop when the parser output is wrong, and the CLI reports it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from extract_fixtures import CORPUS, FIXTURES, GOLDEN_DIR, require
from typer.testing import CliRunner

from services.extract.evaluate import evaluate, match_rows

PDF_DIR = FIXTURES / "house-clerk"


def _real_parse(pdf_bytes: bytes, doc_id: str) -> dict[str, Any]:
    from services.extract.analyze import analyze_document

    return analyze_document(pdf_bytes, doc_id, filing_type="P")["ptr"]


def _perturbed(change: Any) -> Any:
    def parse(pdf_bytes: bytes, doc_id: str) -> dict[str, Any]:
        result = copy.deepcopy(_real_parse(pdf_bytes, doc_id))
        change(result)
        return result

    return parse


def test_real_parser_scores_perfectly() -> None:
    result = evaluate(require(GOLDEN_DIR), PDF_DIR)
    assert (result.recall, result.precision, result.golden_rows) == (1.0, 1.0, 72)
    assert set(result.field_accuracy().values()) == {1.0}
    assert result.mismatches == [] and result.errors == []


def test_wrong_field_lowers_that_fields_accuracy() -> None:
    def change(ptr: dict) -> None:
        ptr["transactions"][0]["description"] = "wrong"

    result = evaluate(require(GOLDEN_DIR), PDF_DIR, _perturbed(change))
    accuracy = result.field_accuracy()
    assert accuracy["description"] == 69 / 72  # first row of each of the 3 documents
    assert accuracy["ticker"] == 1.0 and result.recall == 1.0
    assert any("description" in m for m in result.mismatches)


def test_missing_and_extra_rows_lower_recall_and_precision() -> None:
    def change(ptr: dict) -> None:
        if ptr["doc_id"] == "20027933":
            ptr["transactions"].pop()
            ptr["transactions"].append({"asset_name": "Invented", "transaction_date": "2025-01-01"})

    result = evaluate(require(GOLDEN_DIR), PDF_DIR, _perturbed(change))
    assert result.recall == 71 / 72 and result.precision == 71 / 72
    assert result.field_accuracy()["asset_name"] == 71 / 72


def test_match_rows_keeps_identical_looking_rows_apart() -> None:
    gold = [{"asset_name": "A", "ticker": "X", "subholding_of": s} for s in ("T1", "T2", None)]
    pred = list(reversed(gold))
    assert sorted(match_rows(gold, pred)) == [(0, 2), (1, 1), (2, 0)]


def test_cli_evaluate_exit_codes(tmp_path: Path) -> None:
    from infra.cli.main import app

    runner = CliRunner()
    ok = runner.invoke(app, ["evaluate", str(require(GOLDEN_DIR)), "--pdf-dir", str(PDF_DIR)])
    assert ok.exit_code == 0, ok.output
    assert "row recall" in ok.output and "1.0000" in ok.output
    golden = json.loads((GOLDEN_DIR / "20027933.json").read_text())
    golden["transactions"].append({**golden["transactions"][0], "row": 8, "asset_name": "Missing Corp"})
    (tmp_path / "20027933.json").write_text(json.dumps(golden))
    bad = runner.invoke(app, ["evaluate", str(tmp_path), "--pdf-dir", str(PDF_DIR)])
    assert bad.exit_code == 1


def test_cli_parse_prints_golden_shaped_json() -> None:
    from infra.cli.main import app

    pdf = require(CORPUS / "efiled" / "20016170.pdf")
    result = CliRunner().invoke(app, ["parse", str(pdf), "--doc-id", "X1"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["doc_id"] == "X1" and document["rendering"] == "efiled"
    assert document["transactions"][0]["ticker"] == "MRK"


def test_cli_parse_invalid_pdf(tmp_path: Path) -> None:
    from infra.cli.main import app

    bad = tmp_path / "404.pdf"
    bad.write_bytes(b"<html>404</html>")
    result = CliRunner().invoke(app, ["parse", str(bad)])
    assert result.exit_code == 2
