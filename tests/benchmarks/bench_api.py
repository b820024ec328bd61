"""Benchmark of the API: latency (p50/p95/p99), errors and throughput at 50 concurrent clients.

A full-year Gold is synthesized from the real 2025 index (1,618 rows, 471 PTRs): every PTR gets
a realistic number of trades (heavy-tailed, 1 to 120, about 12 on average) over a few hundred
tickers, every other filing an extracted document record. Gold is built with the real
`build()` on the moto server and published with `publish_api`; `HttpApiWorkers` serves it from
worker processes on one port (as `disclosures up` does: 2 by default), and 50 clients with
keep-alive connections request `/v1/trades` with rotating filters, member pages, and a mix of
every route a visitor's browser calls (trades, members, tickers, summary, trending, search,
filings, health, the site's files); the clients are asyncio, so the load generator costs little
CPU on a small machine. In the same run, the same clients load a plain static file server
(Python's ThreadingHTTPServer serving the site's files from disk, keep-alive) with as many
processes on one port: the floor this machine allows. Every distinct request is made a few times
per worker first (each worker has its own response cache, as each Lambda instance has).
Target (issue 15): the mix's p99 under 50 ms and within 2x of the static server's.

    .venv/bin/python tests/benchmarks/bench_api.py [--clients 50] [--seconds 10] [--workers 2]

With `--url`, it measures a running stack instead, e.g. the real year: `disclosures demo --port
8099` (source mirror-2025), then `bench_api.py --url http://127.0.0.1:8099` once the run ended.

Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT.parent / "shared" / "fixtures"
INDEX_XML = FIXTURES / "house-clerk" / "index" / "2025FD.xml"
LEGISLATORS = FIXTURES / "reference" / "legislators-current.yaml"
BUCKETS = {"SILVER_BUCKET": "bench-silver", "GOLD_BUCKET": "bench-gold", "SITE_BUCKET": "bench-site"}

TICKERS = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "GOOG", "META", "TSLA", "BRK.B", "AVGO", "JPM", "LLY", "V", "UNH",
    "XOM", "MA", "JNJ", "PG", "HD", "COST", "ABBV", "MRK", "CVX", "KO", "PEP", "ADBE", "WMT", "CRM", "BAC", "NFLX",
    "AMD", "TMO", "ORCL", "ACN", "MCD", "CSCO", "ABT", "INTC", "DIS", "WFC", "DHR", "VZ", "INTU", "CMCSA", "TXN",
    "PFE", "AMGN", "NKE", "PM", "IBM", "QCOM", "UNP", "NEE", "GE", "CAT", "SPGI", "LOW", "HON", "RTX", "BA", "GS",
    "AMAT", "ISRG", "PLD", "T", "BKNG", "DE", "SBUX", "ELV", "LMT", "MDT", "BLK", "ADP", "GILD", "MDLZ", "SYK",
    "TJX", "VRTX", "ADI", "MMC", "CVS", "REGN", "C", "LRCX", "SCHW", "MO", "CI", "ZTS", "ETN", "PGR", "BSX", "SO",
    "CB", "MU", "PANW", "SNPS", "DUK", "FI", "KLAC", "CDNS", "EQIX", "ITW", "SLB", "SHW", "CME", "ICE", "PYPL",
    "APD", "CL", "MCK", "WM", "USB", "EOG", "NOC", "TGT", "MAR", "GD", "FCX", "PSX", "EMR", "NSC", "ORLY", "ROP",
    "PH", "MPC", "HCA", "AON", "APH", "CTAS", "AJG", "PCAR", "ANET", "MSI", "TT", "CARR", "KMB", "WELL", "OXY",
    "ADSK", "AZO", "MCHP", "SRE", "TRV", "COF", "DXCM", "AEP", "PSA", "HUM", "F", "GM", "MET", "KMI", "TEL", "AIG",
    "D", "O", "SPG", "IDXX", "DLR", "JCI", "CCI", "ALL", "PAYX", "HES", "MNST", "CPRT", "LHX", "FTNT", "KHC",
    "GIS", "BK", "AMP", "DOW", "NUE", "PRU", "A", "YUM", "EW", "CTVA", "ODFL", "KDP", "CNC", "CMG", "CHTR", "VLO",
    "DVN", "SCCO", "CRWD", "PLTR", "SNOW", "UBER", "ABNB", "COIN", "SQ", "SHOP", "TSM", "ASML", "IBIT", "SPY",
    "QQQ", "VOO", "VTI", "IWM", "GLD", "TLT", "DG", "PI", "TEM", "VST", "CEG", "SMCI", "ARM", "MRVL", "DELL",
]  # fmt: skip
AMOUNTS = [(1001, 15000)] * 30 + [(15001, 50000)] * 12 + [(50001, 100000)] * 5 + [(100001, 250000)] * 3 + [
    (250001, 500000), (500001, 1000000), (1000001, 5000000), (5000001, 25000000)]  # fmt: skip


# --- the synthetic full year ---------------------------------------------------------------------


def index_rows() -> list[dict]:
    import defusedxml.ElementTree as ET

    rows = []
    for member in ET.parse(INDEX_XML).getroot():
        def get(tag: str, member=member) -> str | None:
            return (member.findtext(tag) or "").strip() or None

        filed = get("FilingDate")
        rows.append(
            {
                "doc_id": get("DocID"), "year": int(get("Year") or 2025), "prefix": get("Prefix"), "first": get("First"),
                "last": get("Last"), "suffix": get("Suffix"), "filing_type": get("FilingType"),
                "state_district": get("StateDst"),
                "filing_date": (date(int(filed.split("/")[2]), int(filed.split("/")[0]), int(filed.split("/")[1])).isoformat()
                                if filed else None),
            }  # fmt: skip
        )
    return rows


def trades_for(rng: random.Random, doc_id: str, filed: date) -> list[dict]:
    count = min(120, max(1, int(rng.paretovariate(1.3) * 4)))
    rows = []
    for n in range(1, count + 1):
        traded = filed - timedelta(days=rng.randint(3, 60))
        low, high = rng.choice(AMOUNTS)
        ticker = rng.choice(TICKERS)
        kind = rng.choices(["P", "S", "S (partial)", "E"], weights=[55, 30, 12, 3])[0]
        rows.append(
            {
                "row": n, "owner": rng.choice([None, None, "SP", "JT", "DC"]), "asset_name": f"{ticker} Common Stock",
                "ticker": ticker, "asset_type": rng.choice(["ST"] * 9 + ["OP"]), "transaction_type": kind,
                "transaction_date": traded.isoformat(), "notification_date": (traded + timedelta(days=rng.randint(0, 5))).isoformat(),
                "amount_low": low, "amount_high": high, "cap_gains_over_200": None, "filing_status": "New",
                "description": None, "subholding_of": None, "location": None, "comments": None, "page": 1,
                "confidence": 0.97,
            }  # fmt: skip
        )
    return rows


def document(row: dict, trades: list[dict] | None) -> dict:
    doc_id, year, kind = row["doc_id"], row["year"], row["filing_type"]
    folder = "ptr-pdfs" if kind == "P" else "financial-pdfs"
    return {
        "doc_id": doc_id, "year": year, "filing_type": kind, "filing_date": row["filing_date"],
        "source_url": f"https://disclosures-clerk.house.gov/public_disc/{folder}/{year}/{doc_id}.pdf",
        "bronze_key": f"house-fd/pdf/year={year}/type={kind}/doc_id={doc_id}/sha256={'0' * 64}.pdf",
        "sha256": "0" * 64, "run_id": "bench", "extraction_status": "extracted", "failure_reason": None,
        "rendering": "efiled", "pages": 2, "warnings": [], "parser_version": "bench",
        "extracted_at": "2025-11-26T08:00:00+00:00",
        "header": {"filer_name": f"Hon. {row['first']} {row['last']}", "status": "Member",
                   "state_district": row["state_district"], "signature_date": None},
        "ptr": {"transactions": trades} if trades is not None else None,
    }  # fmt: skip


def load_year(s3) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from services.common import keys

    rng = random.Random(2025)
    rows = index_rows()
    s3.put_object(Bucket=BUCKETS["SILVER_BUCKET"], Key=keys.filings_key(2025),
                  Body=json.dumps({"year": 2025, "filings": rows}).encode())  # fmt: skip
    seen, records, trades = set(), [], 0
    for row in rows:
        if row["doc_id"] in seen:
            continue
        seen.add(row["doc_id"])
        filed = date.fromisoformat(row["filing_date"]) if row["filing_date"] else date(2025, 6, 1)
        rows_ = trades_for(rng, row["doc_id"], filed) if row["filing_type"] == "P" else None
        trades += len(rows_ or [])
        records.append(document(row, rows_))

    def put(record: dict) -> None:
        s3.put_object(Bucket=BUCKETS["SILVER_BUCKET"], Key=keys.document_key(2025, record["doc_id"]),
                      Body=json.dumps(record).encode())  # fmt: skip

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, records))
    return trades


# --- load generation -----------------------------------------------------------------------------


async def _client(host: str, port: int, paths: list[str], deadline: float, latencies: list[float], errors: list[str]) -> None:
    """One client: a keep-alive connection, one request at a time (asyncio keeps the load generator cheap)."""
    import asyncio

    reader, writer = await asyncio.open_connection(host, port)
    i = random.randrange(len(paths))
    while time.perf_counter() < deadline:
        path = paths[i % len(paths)]
        i += 1
        start = time.perf_counter()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - start) * 1000)
        if status != 200:
            errors.append(f"{status} {path}")
    writer.close()


def run_load(url: str, paths: list[str], clients: int, seconds: float) -> dict:
    import asyncio

    parts = urllib.parse.urlsplit(url)
    latencies: list[float] = []
    errors: list[str] = []

    async def main() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(_client(parts.hostname, parts.port, paths, deadline, latencies, errors) for _ in range(clients)))

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies), "errors": len(errors), "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2),
        "max_ms": round(latencies[-1], 2) if latencies else None, "first_errors": errors[:3],
    }  # fmt: skip


def warm(url: str, paths: list[str], clients: int = 8) -> None:
    """Every path once, by a few clients: the steady state a live site is in (a cold path costs a
    Gold computation or an S3 read once per version, then the response cache answers it)."""
    import asyncio
    import urllib.request

    async def one(share: list[str]) -> None:
        for path in share:
            await asyncio.to_thread(lambda p=path: urllib.request.urlopen(url + p, timeout=60).read())

    async def main() -> None:
        await asyncio.gather(*(one(paths[i::clients]) for i in range(clients)))

    asyncio.run(main())


def trade_paths(members: list[str], tickers: list[str]) -> list[str]:
    rng = random.Random(7)
    paths = []
    for _ in range(400):
        q: dict[str, str] = {}
        choice = rng.random()
        if choice < 0.35:
            q["ticker"] = rng.choice(tickers)
        elif choice < 0.7:
            q["member"] = rng.choice(members)
        if rng.random() < 0.4:
            q["type"] = rng.choice(["buy", "sell"])
        if rng.random() < 0.4:
            month = rng.randint(1, 10)
            q["from"], q["to"] = f"2025-{month:02d}-01", f"2025-{month + 2:02d}-01"
        if rng.random() < 0.3:
            q["min_amount"] = rng.choice(["15001", "50001", "100001"])
        if rng.random() < 0.3:
            q["owner"] = rng.choice(["self", "SP"])
        q["sort"] = rng.choice(["-transaction_date", "-amount", "disclosure_date", "ticker"])
        q["limit"] = "50"
        paths.append("/v1/trades?" + urllib.parse.urlencode(q))
    return paths


def mixed_paths(members: list[str], tickers: list[str], filings: list[str]) -> list[str]:
    """What browsers ask for, roughly in proportion: trade queries, member and ticker pages, lists,
    the dashboard's answers, search, filings, health and the site's files."""
    rng = random.Random(11)
    trades = trade_paths(members, tickers)
    names = ["pel", "green", "smith", "nv", "apple", "micro", "tesla", "bank", "energy", "jo"]
    paths = []
    for _ in range(600):
        kind = rng.random()
        if kind < 0.25:
            paths.append(rng.choice(trades))
        elif kind < 0.40:
            paths.append(f"/v1/members/{urllib.parse.quote(rng.choice(members))}")
        elif kind < 0.52:
            paths.append(f"/v1/tickers/{urllib.parse.quote(rng.choice(tickers))}")
        elif kind < 0.60:
            paths.append(f"/v1/members?traded=true&limit=50&offset={rng.randrange(0, 400, 50)}")
        elif kind < 0.65:
            paths.append(f"/v1/tickers?limit=50&offset={rng.randrange(0, 200, 50)}")
        elif kind < 0.72:
            paths.append(rng.choice(["/v1/summary", "/v1/trades/latest", "/v1/trending?window=30&limit=15", "/v1/trending?window=7&limit=15"]))
        elif kind < 0.77:
            paths.append(f"/v1/search?q={rng.choice(names)}")
        elif kind < 0.82:
            paths.append(f"/v1/filings/{rng.choice(filings)}")
        elif kind < 0.85:
            paths.append("/v1/health")
        else:
            paths.append(rng.choice(STATIC_PATHS))
    return paths


STATIC_PATHS = ["/index.html", "/app.js", "/style.css"]


def serve_static(port_file: str, port: int) -> None:
    """Child process: a plain static file server (keep-alive, a thread per connection) of the
    site's files, sharing `port` with its siblings (0: any free port)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        allow_reuse_port = True
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", port), functools.partial(Handler, directory=str(ROOT / "services" / "website" / "static")))
    Path(port_file).write_text(f"http://127.0.0.1:{server.server_address[1]}")
    server.serve_forever()


def start_static(port: int = 0) -> tuple[subprocess.Popen, str]:
    port_file = Path(f"/tmp/bench_api_{os.getpid()}_static.url")
    port_file.unlink(missing_ok=True)
    child = subprocess.Popen([sys.executable, __file__, "--serve-static", str(port_file), "--port", str(port)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while not port_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)
    url = port_file.read_text()
    port_file.unlink(missing_ok=True)
    return child, url


def measure(url: str, args: argparse.Namespace) -> None:
    """Load `url` (the API and site) and, in the same run, a static file server of the site's
    files with as many processes; print the table and the targets."""
    import urllib.request

    statics: list[subprocess.Popen] = []
    try:
        first, static_url = start_static()
        statics = [first] + [start_static(int(static_url.rsplit(":", 1)[1]))[0] for _ in range(args.workers - 1)]

        def get(path: str) -> dict:
            with urllib.request.urlopen(url + path) as response:
                return json.loads(response.read())

        t = time.perf_counter()
        members = [m["member_key"] for m in get("/v1/members?traded=true&limit=500")["items"]]
        print(f"first request (loads Gold into the server's memory): {(time.perf_counter() - t) * 1000:.0f} ms")
        tickers = [r["ticker"] for r in get("/v1/tickers?limit=500")["items"]]
        filings = [f["filing_key"] for f in get("/v1/filings?type=P&limit=500")["items"]]
        scenarios = {
            "/v1/trades with filters": (url, trade_paths(members, tickers)),
            "member page /v1/members/{key}": (url, [f"/v1/members/{urllib.parse.quote(m)}" for m in members]),
            "mix of every route + site files": (url, mixed_paths(members, tickers, filings)),
            "static file server (same files)": (static_url, STATIC_PATHS),
        }
        # Warm: every distinct request a few times per worker (a new connection each, so the
        # kernel spreads them), so each worker has the answers and sort orders in memory.
        for target, paths in scenarios.values():
            for _ in range(3 * args.workers):
                warm(target, sorted(set(paths)))
        cache = "off: every request routed, validated, computed" if args.no_cache else "on (warm)"
        print(f"\n{args.clients} concurrent clients, {args.seconds:.0f} s each, keep-alive, each server {args.workers} "
              f"processes on one port, response cache {cache}")
        print(f"{'scenario':34} {'requests':>9} {'rps':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
        results = {}
        for name, (target, paths) in scenarios.items():
            r = results[name] = run_load(target, paths, args.clients, args.seconds)
            print(f"{name:34} {r['requests']:>9} {r['rps']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8} "
                  f"{r['max_ms']:>8} {r['errors']:>7}")  # fmt: skip
            if r["first_errors"]:
                print("   errors:", r["first_errors"])
        mix, floor = results["mix of every route + site files"], results["static file server (same files)"]
        ratio = mix["p99_ms"] / floor["p99_ms"] if floor["p99_ms"] else float("inf")
        print(f"\ntarget: mix p99 {mix['p99_ms']} ms (< 50: {'met' if mix['p99_ms'] < 50 else 'MISSED'}), "
              f"{ratio:.2f}x the static server's p99 {floor['p99_ms']} ms (<= 2x: {'met' if ratio <= 2 else 'MISSED'}); "
              f"p50 {mix['p50_ms']} vs {floor['p50_ms']} ms")
    finally:
        for child in statics:
            child.terminate()
            child.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-cache", action="store_true", help="turn the API's response cache off (every request computed)")
    parser.add_argument("--workers", type=int, default=2, help="processes serving the API (and the static server)")
    parser.add_argument("--url", help="measure a running stack (e.g. `disclosures demo --port 8099` on mirror-2025) "
                                       "instead of a synthesized year")
    parser.add_argument("--serve-static", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_static:
        serve_static(args.serve_static, args.port)
        return
    if args.url:
        measure(args.url.rstrip("/"), args)
        return

    from infra.local.emulator import Emulator
    from infra.local.http_api import HttpApiWorkers

    emulator = Emulator.start()
    server: HttpApiWorkers | None = None
    try:
        env = {**emulator.environment(), **BUCKETS, "POWERTOOLS_LOG_LEVEL": "ERROR",
               "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
               "API_RESPONSE_CACHE": "0" if args.no_cache else "4096"}  # fmt: skip
        os.environ.update(env)
        s3 = emulator.client("s3")
        for bucket in BUCKETS.values():
            s3.create_bucket(Bucket=bucket)
        t0 = time.perf_counter()
        trades = load_year(s3)
        t1 = time.perf_counter()
        from services.build_gold.build import build
        from services.publish_api.publish import publish

        result = build(s3, silver_bucket=BUCKETS["SILVER_BUCKET"], gold_bucket=BUCKETS["GOLD_BUCKET"], years=[2025],
                       run_id="bench", legislators=LEGISLATORS.read_bytes())  # fmt: skip
        t2 = time.perf_counter()
        published = publish(s3, gold_bucket=BUCKETS["GOLD_BUCKET"], site_bucket=BUCKETS["SITE_BUCKET"])
        t3 = time.perf_counter()
        print(f"gold {result.version} ({result.status}): {result.row_counts['fact_transactions']} trades "
              f"({trades} synthesized), {result.row_counts['fact_filings']} filings, {result.row_counts['dim_member']} members")
        print(f"load silver {t1 - t0:.1f}s, build {t2 - t1:.1f}s, publish {t3 - t2:.1f}s ({published.objects} objects)")

        server = HttpApiWorkers(args.workers).start()
        measure(server.url, args)
    finally:
        if server:
            server.stop()
        emulator.stop()


if __name__ == "__main__":
    main()
