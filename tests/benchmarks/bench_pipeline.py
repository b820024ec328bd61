"""Benchmark: a full-year load through the whole choreography on the local emulator.

The real 1,618-row 2025 index is served from a temporary mirror in which every filing gets a
real PDF of its kind from the shared mirror (PTRs get a PTR, paper filings a scanned one).
Prints wall time, documents per second, and how the handlers' busy time splits between the
extraction work itself (classify, text, parse) and the pipeline's own overhead (events,
watermarks, ledger, S3). Run on demand: `python tests/benchmarks/bench_pipeline.py [--limit N]`.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.common.config import shared_fixtures  # noqa: E402

FIXTURES = shared_fixtures()
MIRROR = FIXTURES / "house-clerk" / "mirror" / "public_disc"


def _samples() -> dict[str, list[Path]]:
    """Real PDFs by kind: 'P' (e-filed PTR), 'scanned', and each other e-filed type."""
    from services.discover.index import parse_index_zip

    rows = parse_index_zip((MIRROR / "financial-pdfs" / "2025FD.zip").read_bytes(), 2025).rows
    samples: dict[str, list[Path]] = {}
    for row in rows:
        folder = "ptr-pdfs" if row.filing_type == "P" else "financial-pdfs"
        path = MIRROR / folder / "2025" / f"{row.doc_id}.pdf"
        if not path.exists():
            continue
        kind = "scanned" if len(row.doc_id) == 7 and row.doc_id[0] in "89" else row.filing_type
        samples.setdefault(kind, []).append(path)
    return samples


def build_mirror(target: Path, limit: int | None) -> int:
    from services.discover.index import parse_xml

    xml = (FIXTURES / "house-clerk" / "index" / "2025FD.xml").read_bytes()
    rows = parse_xml(xml, 2025).rows[:limit]
    samples = _samples()
    efiled = [p for kind, paths in samples.items() if kind not in ("scanned", "P") for p in paths]
    for i, row in enumerate(rows):
        if len(row.doc_id) == 7 and row.doc_id[0] in "89":
            pool = samples["scanned"]
        else:
            pool = samples.get(row.filing_type) or efiled
        folder = "ptr-pdfs" if row.filing_type == "P" else "financial-pdfs"
        destination = target / "public_disc" / folder / "2025" / f"{row.doc_id}.pdf"
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pool[i % len(pool)], destination)
    if limit:
        # Keep only the first rows in the index: cut the XML after the limit-th member.
        text = xml.decode("utf-8-sig")
        cut = 0
        for _ in range(limit):
            cut = text.index("</Member>", cut) + len("</Member>")
        xml = (text[:cut] + "\n</FinancialDisclosure>").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2025FD.xml", xml)
    (target / "public_disc" / "financial-pdfs" / "2025FD.zip").write_bytes(buffer.getvalue())
    return len(rows)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None, help="only the first N index rows")
    args = parser.parse_args()
    if not FIXTURES.is_dir():
        sys.exit(f"shared fixtures not found at {FIXTURES}")

    import services.extract.extract as extract
    from infra.local.runtime import LocalRuntime, RuntimeOptions

    # Time the extraction work itself, inside the extract stage.
    work = {"seconds": 0.0, "documents": 0}
    analyze = extract.analyze_document

    def timed(*a, **k):
        started = time.perf_counter()
        try:
            return analyze(*a, **k)
        finally:
            work["seconds"] += time.perf_counter() - started
            work["documents"] += 1

    extract.analyze_document = timed
    with tempfile.TemporaryDirectory() as tmp:
        filings = build_mirror(Path(tmp), args.limit)
        runtime = LocalRuntime(RuntimeOptions(source=tmp)).start()
        try:
            started = time.perf_counter()
            run_id = runtime.request_run([2025])
            run = runtime.wait_for_run(run_id, timeout_s=3600)
            wall = time.perf_counter() - started
            emulator_cpu = _cpu_seconds(runtime.emulator.process.pid)
        finally:
            runtime.stop()
    busy = {name: round(s.busy_s, 2) for name, s in runtime.stats.items()}
    total_busy = sum(busy.values())
    overhead = total_busy - work["seconds"]
    print(f"filings in index        {filings}")
    print(f"run                     {run['status']}  {run['counts']}")
    print(f"wall time               {wall:.1f} s")
    print(f"documents per second    {run['docs_settled'] / wall:.1f}")
    print(f"handler busy time       {total_busy:.1f} s  by service {busy}")
    print(f"extraction work         {work['seconds']:.1f} s for {work['documents']} documents "
          f"({work['seconds'] / total_busy:.0%} of busy time)")
    print(f"emulator (moto) CPU     {emulator_cpu:.1f} s ({emulator_cpu / wall:.0%} of wall time: the local stand-in for AWS)")
    print(f"pipeline overhead       {overhead:.1f} s ({overhead / total_busy:.0%} of busy time; "
          f"ratio overhead/extraction {overhead / max(work['seconds'], 1e-9):.2f})")


if __name__ == "__main__":
    main()
