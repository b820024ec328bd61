"""Benchmark: OCR of scanned PTRs vs raw page rendering of the same pages, on 2 cores.

Run: python tests/benchmarks/bench_ocr.py [--all] [--workers 2]
Reads each document with the OCR reader in a pool of worker processes, then renders the same
pages at 200 dpi with pypdfium2 in the same pool, and prints for both: pages, wall time, pages/s
and CPU-seconds per page (the workers' own CPU time). Target: at most 1 CPU-s per OCR page.
Default set: the four hand-labelled scanned PTRs and the other scanned PTRs of mirror-2025 up to
60 pages; --all reads every scanned PTR of mirror-2025. Not a pytest test.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import pypdfium2 as pdfium  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.common.config import shared_fixtures  # noqa: E402
from services.ocr.pages import DPI  # noqa: E402

FIXTURES = shared_fixtures()
PTR_DIR = FIXTURES / "house-clerk" / "mirror-2025" / "public_disc" / "ptr-pdfs" / "2025"
GOLDEN = ("8221237", "8220844", "8220796", "8221120")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ocr_document(path: str) -> tuple[int, float, int, str | None]:
    """(pages, CPU-s, rows, failure_reason) of one document read by the OCR reader."""
    from services.ocr.reader import read_scanned_ptr

    start = _cpu()
    try:
        result = read_scanned_ptr(Path(path).read_bytes(), Path(path).stem)
    except Exception as exc:  # the reader must not raise: count it, do not stop the run  # noqa: BLE001
        return len(pdfium.PdfDocument(path)), _cpu() - start, 0, f"CRASH {type(exc).__name__}"
    return result.pages, _cpu() - start, len(result.transactions), result.failure_reason


def render_document(path: str) -> tuple[int, float, int, str | None]:
    """Baseline: render every page at the OCR resolution and drop it."""
    start = _cpu()
    pdf = pdfium.PdfDocument(path)
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            page.render(scale=DPI / 72, grayscale=True).close()
            page.close()
        return len(pdf), _cpu() - start, 0, None
    finally:
        pdf.close()


def run(func: Callable[[str], tuple[int, float, int, str | None]], paths: list[str], workers: int) -> dict:
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(func, paths))
    wall = time.perf_counter() - started
    pages = sum(r[0] for r in results)
    cpu = sum(r[1] for r in results)
    reasons: dict[str, int] = {}
    for r in results:
        reasons[r[3] or "rows"] = reasons.get(r[3] or "rows", 0) + 1
    return {"pages": pages, "wall": wall, "cpu": cpu, "rows": sum(r[2] for r in results), "outcomes": reasons}


def choose(all_docs: bool, page_budget: int = 60) -> list[str]:
    scanned = sorted(p for p in PTR_DIR.glob("*.pdf") if p.stem[0] in "89")
    chosen = [p for p in scanned if p.stem in GOLDEN]
    if all_docs:
        return [str(p) for p in scanned]
    pages = sum(len(pdfium.PdfDocument(str(p))) for p in chosen)
    for p in scanned:
        if p in chosen:
            continue
        n = len(pdfium.PdfDocument(str(p)))
        if pages + n <= page_budget:
            chosen.append(p)
            pages += n
    return [str(p) for p in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every scanned PTR of mirror-2025")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not PTR_DIR.is_dir():
        sys.exit(f"shared fixtures absent: {PTR_DIR}")
    paths = choose(args.all)
    print(f"{len(paths)} scanned PTRs, {args.workers} worker processes, {DPI} dpi")
    for name, func in (("raw render", render_document), ("OCR reader", ocr_document)):
        r = run(func, paths, args.workers)
        print(
            f"{name:<11} pages {r['pages']:>4}  wall {r['wall']:7.1f} s  {r['pages'] / r['wall']:6.2f} pages/s  "
            f"{r['cpu'] / max(1, r['pages']):5.2f} CPU-s/page"
            + (f"  rows {r['rows']}  outcomes {r['outcomes']}" if func is ocr_document else "")
        )


if __name__ == "__main__":
    main()
