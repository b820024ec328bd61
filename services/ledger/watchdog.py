"""Watchdog: fails runs that cannot finish (stuck, or waiting on messages in a DLQ).

The ledger only learns from events; a run whose work died in a dead-letter queue sends none.
This scheduled check turns that silence into a recorded failure, which raises the alarm.
A failed run can still settle later, when the dead letters are replayed.

Every tick it also reports what only a periodic look can see: the depth of the dead-letter
queues, the hours since data was last published (freshness) and the runs it found stuck.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from events.models import Envelope
from services.common import bus
from services.common.aws import client
from services.common.observability import lambda_entry, tools
from services.ledger.ledger import Ledger
from services.ledger.queries import list_runs

logger, tracer, metrics = tools("watchdog")


def dead_letter_depths() -> dict[str, int]:
    sqs = client("sqs")
    depths = {}
    for url in filter(None, os.environ.get("DEAD_LETTER_QUEUES", "").split(",")):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        depths[url.rsplit("/", 1)[1]] = int(attrs["ApproximateNumberOfMessages"])
    return depths


def _age_s(timestamp: str | None, now: datetime) -> float:
    if not timestamp:
        return 0.0
    moment = datetime.fromisoformat(timestamp)
    # A producer that wrote a naive time meant UTC; one bad stamp must not stop every check.
    return (now - (moment if moment.tzinfo else moment.replace(tzinfo=UTC))).total_seconds()


def freshness_hours(runs: list[dict], now: datetime) -> float | None:
    """Hours since the last run that published data (succeeded); None if none ever did."""
    finished = [r["finished_at"] for r in runs if r.get("status") == "succeeded" and r.get("finished_at")]
    return round(_age_s(max(finished), now) / 3600, 3) if finished else None


def check(now: datetime | None = None, report: bool = False) -> list[Envelope]:
    now = now or datetime.now(UTC)
    idle_limit = float(os.environ.get("RUN_IDLE_LIMIT_S", "900"))
    max_duration = float(os.environ.get("RUN_MAX_DURATION_S", "14400"))
    every_run = list_runs(limit=1000)
    # Settled runs wait on build_gold and publish_api: their dead letters strand a run too.
    runs = [r for r in every_run if r.get("status") in ("running", "settled")]
    all_depths = dead_letter_depths() if (runs or report) else {}
    if report:
        metrics.add_metric(name="DeadLetterMessages", unit=MetricUnit.Count, value=sum(all_depths.values()))
        fresh = freshness_hours(every_run, now)
        if fresh is not None:
            metrics.add_metric(name="DataFreshnessHours", unit=MetricUnit.NoUnit, value=fresh)
    if not runs:
        return []
    depths = {name: depth for name, depth in all_depths.items() if depth}
    ledger = Ledger()
    announced: list[Envelope] = []
    stuck = 0
    for run in runs:
        idle = _age_s(run.get("updated_at") or run.get("started_at"), now)
        reason = None
        if depths and idle >= idle_limit:
            reason = "messages in dead-letter queues: " + ", ".join(f"{n}={d}" for n, d in sorted(depths.items()))
        elif _age_s(run.get("started_at"), now) >= max_duration:
            reason = f"stuck: not settled within {int(max_duration)}s"
            stuck += 1
        if reason:
            logger.warning("run failed", extra={"run_id": run["run_id"], "reason": reason})
            announced += ledger.finish(run["run_id"], "failed", reason, expected=("running", "settled"))
    if report and stuck:
        metrics.add_metric(name="RunsStuck", unit=MetricUnit.Count, value=stuck)
    return announced


@lambda_entry(logger, tracer, metrics)
def lambda_handler(event: dict, context: object) -> dict:
    announced = check(report=True)
    if announced:
        bus.publish(announced)
    return {"failed_runs": [e.run_id for e in announced]}
