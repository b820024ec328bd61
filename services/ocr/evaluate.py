"""Score the OCR reader against the hand-labelled scanned PTRs (golden/ptr-scanned).

Typed filings are scored row by row (recall, precision, per-field accuracy, the character error
rate of asset names, and wrong names that carry no review flag). Handwritten filings are not
read, by design: they are scored on being flagged, with no invented rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.config import shared_fixtures
from services.extract.evaluate import Evaluation, find_pdf, match_rows
from services.ocr.model import OcrResult
from services.ocr.reader import read_scanned_ptr

DEFAULT_SCANNED_GOLDEN_DIR = shared_fixtures() / "golden" / "ptr-scanned"
DEFAULT_SCANNED_PDF_DIR = shared_fixtures() / "house-clerk" / "mirror-2025"
FIELDS = (
    "owner", "transaction_type", "transaction_date", "notification_date", "amount_low", "amount_high",
    "asset_name", "ticker", "subholding_of",
)
DOC_FIELDS = ("filer_name", "state_district")
# The bar: every typed row found, the core fields right on 9 rows in 10, names under 3% CER.
CORE_FIELDS = ("transaction_type", "transaction_date", "notification_date", "amount_low", "amount_high", "owner")
MIN_FIELD_ACCURACY = 0.9
MAX_ASSET_CER = 0.03


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _name(value: Any) -> str:
    return " ".join(str(value or "").split())


@dataclass
class ScannedEvaluation(Evaluation):
    """Recall, precision and per-field accuracy as for e-filed PTRs, over typed filings only."""

    field_correct: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    doc_fields_correct: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DOC_FIELDS, 0))
    asset_chars: int = 0
    asset_errors: int = 0
    unflagged_wrong_names: int = 0
    handwritten_documents: int = 0
    handwritten_flagged: int = 0
    handwritten_rows_invented: int = 0
    cpu_seconds: float = 0.0
    pages: int = 0

    @property
    def asset_cer(self) -> float:
        return self.asset_errors / self.asset_chars if self.asset_chars else 0.0

    def passes(self) -> bool:
        accuracy = self.field_accuracy()
        return (
            not self.errors
            and self.recall == 1.0
            and all(accuracy[f] >= MIN_FIELD_ACCURACY for f in CORE_FIELDS)
            and self.asset_cer < MAX_ASSET_CER
            and self.unflagged_wrong_names == 0
            and self.handwritten_flagged == self.handwritten_documents
            and self.handwritten_rows_invented == 0
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents, "golden_rows": self.golden_rows, "predicted_rows": self.predicted_rows,
            "matched_rows": self.matched_rows, "recall": self.recall, "precision": self.precision,
            "field_accuracy": self.field_accuracy(), "doc_field_accuracy": self.doc_accuracy(),
            "asset_name_cer": self.asset_cer, "unflagged_wrong_names": self.unflagged_wrong_names,
            "handwritten_documents": self.handwritten_documents, "handwritten_flagged": self.handwritten_flagged,
            "handwritten_rows_invented": self.handwritten_rows_invented, "pages": self.pages,
            "cpu_seconds": self.cpu_seconds, "passes": self.passes(), "mismatches": self.mismatches,
            "errors": self.errors,
        }


def is_handwritten(golden: dict[str, Any]) -> bool:
    """The labeller's note says the filing is handwritten."""
    return any(str(n.get("note", "")).upper().startswith("HANDWRITTEN") for n in golden.get("notes", []))


def score_scanned(golden: dict[str, Any], result: OcrResult, ev: ScannedEvaluation) -> None:
    """Add one document's comparison to `ev`."""
    doc = golden.get("doc_id")
    predicted = [r.model_dump() for r in result.transactions]
    ev.pages += result.pages
    ev.cpu_seconds += result.cpu_seconds
    if is_handwritten(golden):
        ev.handwritten_documents += 1
        ev.handwritten_flagged += result.failure_reason == "handwritten" or result.layout == "handwritten"
        ev.handwritten_rows_invented += len(predicted)
        if predicted:
            ev.mismatches.append(f"{doc}: handwritten, yet {len(predicted)} rows were given")
        return
    ev.documents += 1
    for f in DOC_FIELDS:
        expected, got = golden.get(f), getattr(result, f)
        if _name(expected).lower() == _name(got).lower():
            ev.doc_fields_correct[f] += 1
        else:
            ev.mismatches.append(f"{doc} {f}: expected {expected!r}, got {got!r}")
    gold_rows = golden.get("transactions", [])
    ev.golden_rows += len(gold_rows)
    ev.predicted_rows += len(predicted)
    pairs = dict(match_rows(gold_rows, predicted))
    for gi, gold in enumerate(gold_rows):
        name = _name(gold.get("asset_name"))
        ev.asset_chars += len(name)
        if gi not in pairs:
            ev.asset_errors += len(name)
            ev.mismatches.append(f"{doc} row {gold.get('row')}: not found")
            continue
        pred = predicted[pairs[gi]]
        ev.matched_rows += 1
        ev.asset_errors += edit_distance(name, _name(pred.get("asset_name")))
        for f in FIELDS:
            same = (_name(gold.get(f)) == _name(pred.get(f))) if f in ("asset_name", "subholding_of") else (
                gold.get(f) == pred.get(f)
            )
            if same:
                ev.field_correct[f] += 1
            else:
                ev.mismatches.append(f"{doc} row {gold.get('row')} {f}: expected {gold.get(f)!r}, got {pred.get(f)!r}")
        if _name(gold.get("asset_name")) != _name(pred.get("asset_name")) and not pred.get("needs_review"):
            ev.unflagged_wrong_names += 1
            ev.mismatches.append(f"{doc} row {gold.get('row')}: wrong asset name with no review flag")


def evaluate_scanned(
    golden_dir: Path = DEFAULT_SCANNED_GOLDEN_DIR,
    pdf_dir: Path = DEFAULT_SCANNED_PDF_DIR,
    read: Callable[[bytes, str], OcrResult] = read_scanned_ptr,
    progress: Callable[[str], None] | None = None,
) -> ScannedEvaluation:
    """Read the PDF of every golden file with the OCR reader and score it."""
    ev = ScannedEvaluation()
    for path in sorted(golden_dir.glob("*.json")):
        golden = json.loads(path.read_text())
        doc_id = str(golden.get("doc_id") or path.stem)
        if progress:
            progress(doc_id)
        pdf = find_pdf(pdf_dir, doc_id)
        if pdf is None:
            ev.errors.append(f"{doc_id}: PDF not found under {pdf_dir}")
            continue
        score_scanned(golden, read(pdf.read_bytes(), doc_id), ev)
    return ev
