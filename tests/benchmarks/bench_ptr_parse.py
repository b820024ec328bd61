"""Benchmark: full PTR parse vs raw pypdfium2 text extraction of the same pages, one core.

Run: python tests/benchmarks/bench_ptr_parse.py [--repeat N]
Prints pages/s for both, in the same run, and their ratio, on the golden PTRs and on the whole
e-filed corpus. Not a pytest test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.common.config import shared_fixtures  # noqa: E402
from services.extract.analyze import analyze_document  # noqa: E402

FIXTURES = shared_fixtures()
SETS = {
    "golden PTRs": FIXTURES / "house-clerk" / "mirror" / "public_disc" / "ptr-pdfs",
    "e-filed corpus": FIXTURES / "house-clerk" / "ptr-corpus" / "efiled",
}


def raw_text(data: bytes) -> int:
    """Baseline: open the PDF and read each page's text once with pypdfium2."""
    pdf = pdfium.PdfDocument(data)
    try:
        for i in range(len(pdf)):
            pdf[i].get_textpage().get_text_range()
        return len(pdf)
    finally:
        pdf.close()


def full_parse(data: bytes) -> int:
    """Classify, extract and parse: everything the pipeline does per document."""
    return analyze_document(data, filing_type="P")["pages"]


def best_rate(func: Callable[[bytes], int], docs: list[bytes], repeat: int) -> tuple[float, int]:
    """Best pages/s over `repeat` passes (the least disturbed by other processes)."""
    best, pages = 0.0, 0
    for _ in range(repeat):
        start = time.perf_counter()
        pages = sum(func(d) for d in docs)
        best = max(best, pages / (time.perf_counter() - start))
    return best, pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    print(f"{'set':<16}{'docs':>6}{'pages':>7}{'raw pages/s':>14}{'parse pages/s':>16}{'parse/raw':>11}")
    for name, folder in SETS.items():
        docs = [p.read_bytes() for p in sorted(folder.rglob("*.pdf"))]
        if not docs:
            print(f"{name}: no PDFs under {folder} (shared fixtures absent)")
            continue
        raw, pages = best_rate(raw_text, docs, args.repeat)
        parsed, _ = best_rate(full_parse, docs, args.repeat)
        print(f"{name:<16}{len(docs):>6}{pages:>7}{raw:>14.0f}{parsed:>16.0f}{parsed / raw:>11.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
