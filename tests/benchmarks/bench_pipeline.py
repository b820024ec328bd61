"""Benchmark: a full-year load through the whole choreography on the local emulator.

By default the real 2025 year (`../shared/fixtures/house-clerk/mirror-2025`: its index and every
PDF). Without it, or with `--synthetic`, the real 1,618-row 2025 index is served from a temporary
mirror in which every filing gets a real PDF of its kind from the small shared mirror.
Prints wall time, documents per second, the AWS requests each stage made per document (counted by
the emulator, per calling function; the pollers' receives and deletes, which Lambda's event
source mapping makes, apart), and how the handlers' busy time splits between the extraction work
itself (classify, text, parse; OCR apart) and the pipeline's own overhead (events, watermarks,
ledger, S3), in wall time (waits on the emulator included) and in the handlers' own CPU time, and
what the handlers' busy time was: running, waiting for a CPU, or waiting on the emulator.
Run on demand: `python tests/benchmarks/bench_pipeline.py [--limit N] [--synthetic]`.
"""

from __future__ import annotations

import argparse
import io
import os
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
SCHEDULED = ("watchdog",)  # functions on a rate() rule, not on a queue
MIRROR = FIXTURES / "house-clerk" / "mirror" / "public_disc"
REAL_YEAR = FIXTURES / "house-clerk" / "mirror-2025"


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
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def milestones(run: dict) -> list[tuple[str, float]]:
    """Seconds from the run's start until: every e-filed document settled, every scanned one
    settled (OCR), the run settled, Gold built and published (the run's end)."""
    from datetime import datetime

    start = datetime.fromisoformat(run["started_at"])

    def since(stamps: list[str]) -> float | None:
        return max((datetime.fromisoformat(s) - start).total_seconds() for s in stamps) if stamps else None

    docs = run.get("documents", [])
    marks = [
        ("e-filed settled", since([d["updated_at"] for d in docs if not d.get("ocr") and d.get("updated_at")])),
        ("OCR settled", since([d["updated_at"] for d in docs if d.get("ocr") and d.get("updated_at")])),
        ("run settled", since([run["settled_at"]] if run.get("settled_at") else [])),
        ("Gold published", since([run["finished_at"]] if run.get("finished_at") else [])),
    ]
    return [(label, seconds) for label, seconds in marks if seconds is not None]


def analyze_work(cloudwatch) -> dict[str, float]:
    """The extraction work itself (classify, text, parse): the extract function's AnalyzeDuration
    metric, as its workers' EMF output put it in CloudWatch."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="CongressDisclosures", MetricName="AnalyzeDuration", Dimensions=[{"Name": "service", "Value": "extract"}],
        StartTime=now - timedelta(days=1), EndTime=now + timedelta(minutes=5), Period=86400,
        Statistics=["Sum", "SampleCount"])["Datapoints"]
    return {"seconds": sum(p["Sum"] for p in points) / 1000, "documents": int(sum(p["SampleCount"] for p in points))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None, help="only the first N index rows (synthetic mirror)")
    parser.add_argument("--synthetic", action="store_true", help="the 2025 index over PDFs of the small mirror")
    args = parser.parse_args()
    if not FIXTURES.is_dir():
        sys.exit(f"shared fixtures not found at {FIXTURES}")

    from infra.local.callers import by_caller
    from infra.local.runtime import LocalRuntime, RuntimeOptions

    with tempfile.TemporaryDirectory() as tmp:
        real = REAL_YEAR.is_dir() and not args.synthetic and not args.limit
        source = str(REAL_YEAR) if real else tmp
        filings = None if real else build_mirror(Path(tmp), args.limit)
        print(f"source                  {source}")
        runtime = LocalRuntime(RuntimeOptions(source=source)).start()
        try:
            runtime.emulator.reset_requests()  # provisioning is not the run's
            started = time.perf_counter()
            run_id = runtime.request_run([2025])
            run = runtime.wait_for_run(run_id, timeout_s=3600)
            wall = time.perf_counter() - started
            run = runtime.run_item(run_id) or run
            runtime.stop_functions()  # every invocation's output read: its metrics are in
            work = analyze_work(runtime.client("cloudwatch"))
            emulator_cpus = [_cpu_seconds(pid) for pid in runtime.emulator.pids()]  # the main process, its shards
            runtime_cpu = _cpu_seconds(os.getpid())  # pollers, log and metric ingestion, alarms, the mirror
            emulator_cpu = sum(emulator_cpus)
            requests = by_caller(runtime.emulator.requests())
        finally:
            runtime.stop()
    busy = {name: round(s.busy_s, 2) for name, s in runtime.stats.items()}
    ocr_busy = busy.pop("ocr", 0.0)
    total_busy = sum(busy.values())
    overhead = total_busy - work["seconds"]
    cpu = sum(s.cpu_s for name, s in runtime.stats.items() if name != "ocr")
    own_cpu = cpu - work["seconds"]
    cpu_wait = sum(s.cpu_wait_s for name, s in runtime.stats.items() if name != "ocr")
    documents = max(int(run.get("docs_settled") or 0), 1)
    print(f"filings in index        {filings or run.get('docs_expected')}")
    print(f"run                     {run['status']}  {run['counts']}")
    print(f"wall time               {wall:.1f} s")
    print(f"documents per second    {run['docs_settled'] / wall:.1f}")
    print(f"handler busy time       {total_busy:.1f} s  by service {busy}")
    print(f"extraction work         {work['seconds']:.1f} s for {work['documents']} documents "
          f"({work['seconds'] / total_busy:.0%} of busy time)")
    print(f"emulator (moto) CPU     {emulator_cpu:.1f} s ({emulator_cpu / wall:.0%} of wall time: the local stand-in for AWS; "
          f"by process, main first: {', '.join(f'{c:.1f} s' for c in emulator_cpus)})")
    print(f"runtime CPU             {runtime_cpu:.1f} s (this process: the pollers, logs to metrics, alarms, the Clerk mirror)")
    print(f"pipeline overhead       {overhead:.1f} s ({overhead / total_busy:.0%} of busy time; "
          f"ratio overhead/extraction {overhead / max(work['seconds'], 1e-9):.2f})")
    print(f"handler CPU             {cpu:.1f} s; outside the extraction work {own_cpu:.1f} s "
          f"(ratio {own_cpu / max(work['seconds'], 1e-9):.2f}: the pipeline's own code, without the waits on the emulator)")
    # Busy time a function spent off its own CPU: waits for a CPU on a full machine (each function
    # has its own on AWS), and waits on the emulator, the Clerk mirror or the handler's own threads.
    # CPU is the whole process's, the wait the invoking thread's: the pool threads of build_gold and
    # publish_api (small beside fetch and extract) add CPU whose waits fall in the third figure.
    print(f"handler busy time split running {cpu:.1f} s (CPU), waiting for a CPU {cpu_wait:.1f} s, "
          f"waiting on the emulator, the mirror or own threads {total_busy - cpu - cpu_wait:.1f} s")
    print("by service (CPU, wait for a CPU, of busy)  " + "  ".join(
        f"{name} {s.cpu_s:.1f}+{s.cpu_wait_s:.1f} of {s.busy_s:.1f} s" for name, s in runtime.stats.items()
        if name != "ocr"))
    if ocr_busy:
        print(f"OCR (apart)             {ocr_busy:.1f} s")
    print("wall time by stage      " + "  ".join(f"{label} {seconds:.0f} s" for label, seconds in milestones(run)))
    stage_total = scheduled = 0
    print(f"AWS requests per document ({documents} documents settled), by stage:")
    for caller, actions in requests.items():
        count = sum(actions.values())
        if caller != "runtime":
            stage_total += count
        if caller in SCHEDULED:
            scheduled += count
        busiest = ", ".join(f"{a} {n / documents:.2f}" for a, n in list(actions.items())[:6])
        label = "pollers+runtime" if caller == "runtime" else caller
        print(f"  {label:<22}{count / documents:6.2f}   {busiest}")
    print(f"  {'all stages':<22}{stage_total / documents:6.2f}   (pollers' receives and deletes not included)")
    print(f"  {'per-document stages':<22}{(stage_total - scheduled) / documents:6.2f}   (without {', '.join(SCHEDULED)}: "
          f"a schedule's requests grow with the run's length, and locally its clock runs "
          f"{runtime.options.time_scale:g}x)")


if __name__ == "__main__":
    main()
