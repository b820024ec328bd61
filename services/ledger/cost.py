"""What a run costs: the run ledger's counts priced with AWS's published rates, projected per month.

The ledger knows, per run, how many filings were dispatched, documents stored and extracted,
events announced and how long fetch and extract worked (`durations_ms`). From those the model
derives Lambda invocations and GB-seconds, SQS/SNS/S3/DynamoDB requests and the storage a run
adds; what the ledger does not measure (build and publish time, object sizes) is an explicit
assumption below. Prices: us-east-1, on-demand, published rates (arm64 Lambda), checked 2025.
"""

from __future__ import annotations

import math
from calendar import monthrange
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

# --- published rates (USD) -------------------------------------------------------------------
PRICES = {
    "lambda_gb_s": 0.0000133334,        # arm64, per GB-second
    "lambda_request": 0.20 / 1e6,        # per invocation
    "sqs_request": 0.40 / 1e6,           # standard queue, per request (64 KB chunk)
    "sns_publish": 0.50 / 1e6,           # per publish; deliveries to SQS are free
    "s3_put": 0.005 / 1000,              # PUT, COPY, POST, LIST
    "s3_get": 0.0004 / 1000,             # GET and others
    "s3_gb_month": 0.023,                # S3 Standard, first 50 TB
    "ddb_write": 0.625 / 1e6,            # on-demand write request unit
    "ddb_read": 0.125 / 1e6,             # on-demand read request unit
    "cw_metric_month": 0.30,             # custom metric, first 10k
    "cw_alarm_month": 0.10,              # standard-resolution alarm
    "cw_dashboard_month": 3.00,          # beyond the first 3
    "logs_gb": 0.50,                     # CloudWatch Logs ingestion
    "xray_trace": 5.00 / 1e6,            # traces recorded
}
# Always-free allowances per month.
FREE_TIER = {"lambda_requests": 1_000_000, "lambda_gb_s": 400_000, "sqs_requests": 1_000_000, "sns_publishes": 1_000_000,
             "cw_metrics": 10, "cw_alarms": 10, "cw_dashboards": 3, "xray_traces": 100_000, "logs_gb": 5}

# --- what the ledger does not measure (assumptions, documented in docs/observability.md) ------
MEMORY_GB = {"discover": 0.5, "fetch": 0.5, "extract": 1.0, "ocr": 3.0, "build_gold": 2.0, "publish_api": 1.0,
             "ledger": 0.5, "watchdog": 0.5, "api": 1.0}
BATCH = {"fetch": 10, "extract": 5, "ocr": 1, "ledger": 10}
ASSUMED_S = {"discover_per_year": 8.0, "build_gold": 60.0, "publish_api": 30.0, "ledger_per_event": 0.05,
             "watchdog": 1.0}
PDF_BYTES = 150_000          # average bronze PDF
SILVER_BYTES = 25_000        # document.json (page text included) per extracted document
GOLD_OBJECTS = 30            # objects a Gold version writes
API_OBJECTS = 2_000          # objects a new version writes, for a run whose ledger has no count of them
LOG_BYTES_PER_INVOCATION = 2_000
CUSTOM_METRICS = 27          # docs/observability.md lists them (a test keeps this in step)
ALARMS = 28                  # every alarm of the template (a test keeps this in step)
DASHBOARDS = 2
RUNS_PER_MONTH = 30          # the nightly rule
WATCHDOG_PER_MONTH = 30 * 24 * 12


@dataclass
class Line:
    service: str
    item: str
    quantity: float
    unit: str
    usd: float


@dataclass
class CostEstimate:
    run_id: str | None
    lines: list[Line] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)

    @property
    def total_usd(self) -> float:
        return round(sum(line.usd for line in self.lines), 6)

    def by_service(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.lines:
            out[line.service] = round(out.get(line.service, 0.0) + line.usd, 6)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "total_usd": self.total_usd, "by_service": self.by_service(),
                "usage": self.usage, "lines": [asdict(line) for line in self.lines]}


def _n(counts: dict[str, Any], *names: str) -> int:
    return sum(int(counts.get(name, 0) or 0) for name in names)


def run_usage(run: dict[str, Any]) -> dict[str, float]:
    """Resource usage of one run, from its ledger item."""
    counts = run.get("counts") or {}
    durations = run.get("durations_ms") or {}
    years = max(len(run.get("years") or []), 1)
    dispatched = _n(counts, "filings_dispatched")
    fetched = _n(counts, "fetch_stored", "fetch_unchanged", "fetch_failed")
    extracted = _n(counts, "extract_extracted", "extract_needs_ocr", "extract_failed")
    # Scanned PTRs read by the OCR stage (its watermark makes a re-read of the same bytes free).
    ocr = _n(counts, "ocr_extracted", "ocr_failed")
    stored = _n(counts, "fetch_stored")
    gold = 1 if (run.get("gold_version") or run.get("status") == "succeeded") else 0
    # What publish_api wrote (only the objects that changed), as the ledger recorded it at the run's end.
    api_written = int(run["api_written"]) if run.get("api_written") is not None else gold * API_OBJECTS
    # run.requested, run.discovered per year, a filing and a fetch outcome per document, an extract
    # outcome, then settled, gold, api and the final status.
    events = 1 + years + dispatched + fetched + extracted + ocr + 4
    invocations = {
        "discover": 1,
        "fetch": math.ceil(dispatched / BATCH["fetch"]),
        "extract": math.ceil(extracted / BATCH["extract"]),
        "ocr": math.ceil(ocr / BATCH["ocr"]),
        "build_gold": gold,
        "publish_api": gold,
        "ledger": math.ceil(events / BATCH["ledger"]),
    }
    seconds = {
        "discover": ASSUMED_S["discover_per_year"] * years,
        "fetch": float(durations.get("fetch", 0)) / 1000,
        "extract": float(durations.get("extract", 0)) / 1000,
        "ocr": float(durations.get("ocr", 0)) / 1000,
        "build_gold": ASSUMED_S["build_gold"] * gold,
        "publish_api": ASSUMED_S["publish_api"] * gold,
        "ledger": ASSUMED_S["ledger_per_event"] * events,
    }
    gb_s = sum(seconds[f] * MEMORY_GB[f] for f in seconds)
    messages = events + stored  # events fanned to queues (at least the ledger's) and S3 notifications
    return {
        "events": events,
        "lambda_invocations": sum(invocations.values()),
        "lambda_gb_s": round(gb_s, 3),
        "sqs_requests": 3 * messages,  # send, receive, delete
        "sns_publishes": events,
        "s3_puts": stored + 2 * extracted + 2 * ocr + years + gold * GOLD_OBJECTS + api_written,
        "s3_gets": extracted + 2 * ocr + 2 * extracted * gold + years,
        # Ledger transactions count twice, plus the run item's copy in the runs index (projects
        # every attribute, so each counter update writes it; active-runs is keys-only); watermarks;
        # an idempotency record (written in progress, then done) per re-extraction and build.
        "ddb_writes": 5 * events + 3 * dispatched + ocr + 2 * gold,
        # (+ fetch's read of each dispatched filing's watermark)
        "ddb_reads": events + _n(counts, "index_rows") + dispatched,
        "storage_gb_added": round((stored * PDF_BYTES + extracted * SILVER_BYTES) / 1e9, 6),
        "log_gb": round(sum(invocations.values()) * LOG_BYTES_PER_INVOCATION / 1e9, 6),
    }


def price(usage: dict[str, float], run_id: str | None = None) -> CostEstimate:
    p = PRICES
    est = CostEstimate(run_id=run_id, usage=usage)
    est.lines = [
        Line("Lambda", "requests", usage["lambda_invocations"], "invocations", usage["lambda_invocations"] * p["lambda_request"]),
        Line("Lambda", "compute", usage["lambda_gb_s"], "GB-s", usage["lambda_gb_s"] * p["lambda_gb_s"]),
        Line("SQS", "requests", usage["sqs_requests"], "requests", usage["sqs_requests"] * p["sqs_request"]),
        Line("SNS", "publishes", usage["sns_publishes"], "publishes", usage["sns_publishes"] * p["sns_publish"]),
        Line("S3", "PUT requests", usage["s3_puts"], "requests", usage["s3_puts"] * p["s3_put"]),
        Line("S3", "GET requests", usage["s3_gets"], "requests", usage["s3_gets"] * p["s3_get"]),
        Line("S3", "storage added (per month)", usage["storage_gb_added"], "GB-month",
             usage["storage_gb_added"] * p["s3_gb_month"]),
        Line("DynamoDB", "writes", usage["ddb_writes"], "WRU", usage["ddb_writes"] * p["ddb_write"]),
        Line("DynamoDB", "reads", usage["ddb_reads"], "RRU", usage["ddb_reads"] * p["ddb_read"]),
        Line("CloudWatch", "log ingestion", usage["log_gb"], "GB", usage["log_gb"] * p["logs_gb"]),
        Line("X-Ray", "traces", usage["lambda_invocations"], "traces", usage["lambda_invocations"] * p["xray_trace"]),
    ]
    for line in est.lines:
        line.usd = round(line.usd, 8)
    return est


def run_cost(run: dict[str, Any]) -> CostEstimate:
    """The cost of one run (before free tiers: what it costs at the margin)."""
    return price(run_usage(run), run.get("run_id"))


def fixed_monthly() -> list[Line]:
    """What the system costs each month whatever it does: metrics, alarms, dashboards, the watchdog."""
    p = PRICES
    watchdog_gb_s = WATCHDOG_PER_MONTH * ASSUMED_S["watchdog"] * MEMORY_GB["watchdog"]
    return [
        Line("CloudWatch", "custom metrics", CUSTOM_METRICS, "metrics",
             max(0, CUSTOM_METRICS - FREE_TIER["cw_metrics"]) * p["cw_metric_month"]),
        Line("CloudWatch", "alarms", ALARMS, "alarms", max(0, ALARMS - FREE_TIER["cw_alarms"]) * p["cw_alarm_month"]),
        Line("CloudWatch", "dashboards", DASHBOARDS, "dashboards",
             max(0, DASHBOARDS - FREE_TIER["cw_dashboards"]) * p["cw_dashboard_month"]),
        Line("Lambda", "watchdog", watchdog_gb_s, "GB-s", watchdog_gb_s * p["lambda_gb_s"]
             + WATCHDOG_PER_MONTH * p["lambda_request"]),
    ]


def monthly_projection(runs: list[dict[str, Any]], runs_per_month: int = RUNS_PER_MONTH,
                       stored_gb: float | None = None) -> dict[str, Any]:
    """Per month: the average recent run times runs_per_month, plus the fixed costs and storage,
    with the Lambda free tier applied; and how much of each free tier that uses."""
    costs = [run_cost(r) for r in runs] or [price(run_usage({}))]
    avg_usage = {k: sum(c.usage[k] for c in costs) / len(costs) for k in costs[0].usage}
    monthly_usage = {k: v * runs_per_month for k, v in avg_usage.items()}
    variable = price(monthly_usage)
    by_service = variable.by_service()
    for line in fixed_monthly():
        by_service[line.service] = by_service.get(line.service, 0.0) + line.usd
    # Lambda's free tier is generous for this workload: subtract it.
    lambda_free = (min(monthly_usage["lambda_invocations"], FREE_TIER["lambda_requests"]) * PRICES["lambda_request"]
                   + min(monthly_usage["lambda_gb_s"], FREE_TIER["lambda_gb_s"]) * PRICES["lambda_gb_s"])
    by_service["Lambda"] = max(0.0, by_service.get("Lambda", 0.0) - lambda_free)
    storage_gb = stored_gb if stored_gb is not None else monthly_usage["storage_gb_added"]
    by_service["S3"] = by_service.get("S3", 0.0) + storage_gb * PRICES["s3_gb_month"]
    free = {
        "lambda_requests_pct": round(100 * monthly_usage["lambda_invocations"] / FREE_TIER["lambda_requests"], 2),
        "lambda_gb_s_pct": round(100 * monthly_usage["lambda_gb_s"] / FREE_TIER["lambda_gb_s"], 2),
        "sqs_requests_pct": round(100 * monthly_usage["sqs_requests"] / FREE_TIER["sqs_requests"], 2),
        "sns_publishes_pct": round(100 * monthly_usage["sns_publishes"] / FREE_TIER["sns_publishes"], 2),
    }
    return {"runs_per_month": runs_per_month, "based_on_runs": len(runs),
            "by_service": {k: round(v, 4) for k, v in sorted(by_service.items())},
            "total_usd": round(sum(by_service.values()), 2), "free_tier_used": free}


def month_to_date(runs: list[dict[str, Any]], now: datetime | None = None) -> float:
    """Estimated charges so far this month (the local stand-in for AWS/Billing EstimatedCharges)."""
    now = now or datetime.now(UTC)
    month = now.strftime("%Y%m")
    this_month = [r for r in runs if str(r.get("run_id", "")).startswith(month)]
    variable = sum(run_cost(r).total_usd for r in this_month)
    fixed = sum(line.usd for line in fixed_monthly()) * now.day / monthrange(now.year, now.month)[1]
    return round(variable + fixed, 4)
