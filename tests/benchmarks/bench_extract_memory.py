"""Benchmark: peak memory and time of `disclosures parse` on hostile many-page PDFs.

Run: python tests/benchmarks/bench_extract_memory.py [--keep DIR]
Each case runs `disclosures parse` in a process of its own under /usr/bin/time -v and prints its
exit code, wall time, peak RSS and the first line of its error. The issue's bar: the 4 MB,
25,000-page PDF ends (a refusal or a bounded parse) under 400 MB, and the 81-page real PTR
20030891 still parses whole. Not a pytest test.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from infra.faults.pdfs import many_page_pdf  # noqa: E402
from services.common.config import shared_fixtures  # noqa: E402
from services.extract.limits import MAX_PAGES  # noqa: E402

DISCLOSURES = Path(sys.executable).with_name("disclosures")
LONGEST_PTR = shared_fixtures() / "house-clerk" / "mirror-2025" / "public_disc" / "ptr-pdfs" / "2025" / "20030891.pdf"
LIMIT_MB = 400


def measure(pdf: Path) -> dict[str, object]:
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-v", str(DISCLOSURES), "parse", str(pdf)],
                            capture_output=True, text=True, timeout=1800)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    error = next((line for line in result.stderr.splitlines() if line.startswith("error:")), "")
    rows = len(json.loads(result.stdout)["transactions"]) if result.returncode == 0 else 0
    return {"rc": result.returncode, "seconds": time.monotonic() - started,
            "peak_mb": int(peak[1]) / 1024 if peak else float("nan"), "rows": rows, "error": error}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the generated PDFs here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cases = {
            "25,000 pages, 4 MB": many_page_pdf(25_000, pad_to=4_000_000),
            "60,000 pages": many_page_pdf(60_000),
            f"{MAX_PAGES} pages (the limit), full of text": many_page_pdf(MAX_PAGES),
        }
        paths = {}
        for name, data in cases.items():
            paths[name] = folder / (re.sub(r"\W+", "-", name).strip("-") + ".pdf")
            paths[name].write_bytes(data)
        if LONGEST_PTR.exists():
            paths["real PTR 20030891 (81 pages)"] = LONGEST_PTR
        else:
            print(f"skipped the real PTR: {LONGEST_PTR} is absent")
        print(f"{'case':44} {'size':>9} {'rc':>3} {'time s':>7} {'peak MB':>8}  outcome")
        worst = 0.0
        for name, path in paths.items():
            m = measure(path)
            worst = max(worst, float(m["peak_mb"]))  # type: ignore[arg-type]
            outcome = m["error"] or f"parsed, {m['rows']} rows"
            print(f"{name:44} {path.stat().st_size / 1e6:>7.2f}MB {m['rc']:>3} {m['seconds']:>7.1f} "
                  f"{m['peak_mb']:>8.0f}  {outcome}")
        print(f"worst peak {worst:.0f} MB (bar: {LIMIT_MB} MB): {'ok' if worst < LIMIT_MB else 'OVER'}")


if __name__ == "__main__":
    main()
