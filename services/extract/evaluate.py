"""Score the PTR parser against hand-verified golden files, field by field."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.config import shared_fixtures
from services.extract.analyze import analyze_document

ROW_FIELDS = (
    "owner",
    "asset_name",
    "ticker",
    "asset_type",
    "transaction_type",
    "transaction_date",
    "notification_date",
    "amount_low",
    "amount_high",
    "cap_gains_over_200",
    "filing_status",
    "description",
    "subholding_of",
    "location",
    "comments",
)
DOC_FIELDS = ("filer_name", "status", "state_district", "pages", "rendering")
# Fields that identify a row; a predicted row is matched to a golden row on these.
_MATCH_FIELDS = (
    "asset_name",
    "ticker",
    "transaction_date",
    "amount_low",
    "transaction_type",
    "subholding_of",
)

DEFAULT_GOLDEN_DIR = shared_fixtures() / "golden" / "ptr"
DEFAULT_PDF_DIR = shared_fixtures() / "house-clerk"


@dataclass
class Evaluation:
    golden_rows: int = 0
    predicted_rows: int = 0
    matched_rows: int = 0
    field_correct: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROW_FIELDS, 0))
    doc_fields_correct: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DOC_FIELDS, 0))
    documents: int = 0
    mismatches: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.matched_rows / self.golden_rows if self.golden_rows else 1.0

    @property
    def precision(self) -> float:
        return (
            self.matched_rows / self.predicted_rows
            if self.predicted_rows
            else (1.0 if not self.golden_rows else 0.0)
        )

    def field_accuracy(self) -> dict[str, float]:
        """Share of golden rows whose field is right; a missed row counts as wrong on every field."""
        return {f: (n / self.golden_rows if self.golden_rows else 1.0) for f, n in self.field_correct.items()}

    def doc_accuracy(self) -> dict[str, float]:
        return {
            f: (n / self.documents if self.documents else 1.0) for f, n in self.doc_fields_correct.items()
        }

    def report(self) -> str:
        lines = [
            f"documents: {self.documents}  golden rows: {self.golden_rows}  predicted rows: {self.predicted_rows}",
            f"row recall: {self.recall:.4f}  row precision: {self.precision:.4f}",
            "field accuracy:",
        ]
        lines += [
            f"  {name:<20} {acc:.4f}"
            for name, acc in {**self.doc_accuracy(), **self.field_accuracy()}.items()
        ]
        lines += [f"error: {e}" for e in self.errors] + [f"mismatch: {m}" for m in self.mismatches]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "golden_rows": self.golden_rows,
            "predicted_rows": self.predicted_rows,
            "matched_rows": self.matched_rows,
            "recall": self.recall,
            "precision": self.precision,
            "field_accuracy": self.field_accuracy(),
            "doc_field_accuracy": self.doc_accuracy(),
            "mismatches": self.mismatches,
            "errors": self.errors,
        }


def _similarity(gold: dict[str, Any], pred: dict[str, Any]) -> int:
    return sum(gold.get(f) == pred.get(f) for f in _MATCH_FIELDS)


def match_rows(golden: list[dict[str, Any]], predicted: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Pairs (golden index, predicted index), order-preserving and greedy on identifying fields.

    Rows that agree on fewer than half the identifying fields are not paired: they are a miss and
    an extra row rather than one row with wrong fields.
    """
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    start = 0
    for gi, gold in enumerate(golden):
        candidates = [pi for pi in range(len(predicted)) if pi not in used]
        if not candidates:
            break
        # Prefer the best similarity, then the nearest position after the previous match.
        best = max(candidates, key=lambda pi: (_similarity(gold, predicted[pi]), -abs(pi - start)))
        if _similarity(gold, predicted[best]) * 2 >= len(_MATCH_FIELDS):
            pairs.append((gi, best))
            used.add(best)
            start = best + 1
    return pairs


def score_document(golden: dict[str, Any], predicted: dict[str, Any], result: Evaluation) -> None:
    """Add one document's comparison to `result`."""
    doc = golden.get("doc_id")
    result.documents += 1
    for f in DOC_FIELDS:
        if golden.get(f) == predicted.get(f):
            result.doc_fields_correct[f] += 1
        else:
            result.mismatches.append(f"{doc} {f}: expected {golden.get(f)!r}, got {predicted.get(f)!r}")
    gold_rows, pred_rows = golden.get("transactions", []), predicted.get("transactions", [])
    result.golden_rows += len(gold_rows)
    result.predicted_rows += len(pred_rows)
    for gi, pi in match_rows(gold_rows, pred_rows):
        result.matched_rows += 1
        for f in ROW_FIELDS:
            if gold_rows[gi].get(f) == pred_rows[pi].get(f):
                result.field_correct[f] += 1
            else:
                result.mismatches.append(
                    f"{doc} row {gold_rows[gi].get('row')} {f}: expected {gold_rows[gi].get(f)!r}, "
                    f"got {pred_rows[pi].get(f)!r}"
                )


def find_pdf(pdf_dir: Path, doc_id: str) -> Path | None:
    direct = pdf_dir / f"{doc_id}.pdf"
    return direct if direct.is_file() else next(iter(sorted(pdf_dir.rglob(f"{doc_id}.pdf"))), None)


def evaluate(
    golden_dir: Path = DEFAULT_GOLDEN_DIR,
    pdf_dir: Path = DEFAULT_PDF_DIR,
    parse: Callable[[bytes, str], dict[str, Any]] | None = None,
) -> Evaluation:
    """Parse the PDF of every golden file and score it. `parse` defaults to the real parser."""
    parse = parse or _parse_ptr
    result = Evaluation()
    for path in sorted(golden_dir.glob("*.json")):
        golden = json.loads(path.read_text())
        doc_id = str(golden.get("doc_id") or path.stem)
        pdf = find_pdf(pdf_dir, doc_id)
        if pdf is None:
            result.errors.append(f"{doc_id}: PDF not found under {pdf_dir}")
            score_document(golden, {}, result)
            continue
        try:
            predicted = parse(pdf.read_bytes(), doc_id)
        except (ValueError, RuntimeError) as exc:
            result.errors.append(f"{doc_id}: {exc}")
            predicted = {}
        score_document(golden, predicted, result)
    return result


def _parse_ptr(pdf_bytes: bytes, doc_id: str) -> dict[str, Any]:
    return analyze_document(pdf_bytes, doc_id, filing_type="P")["ptr"] or {}
