"""Watchdog: fails runs that cannot finish (stuck, or waiting on messages in a DLQ).

The ledger only learns from events; a run whose work died in a dead-letter queue sends none.
This scheduled check turns that silence into a recorded failure, which raises the alarm.
A failed run can still settle later, when the dead letters are replayed.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from aws_lambda_powertools import Logger

from events.models import Envelope
from services.common import bus
from services.common.aws import client
from services.ledger.ledger import Ledger
from services.ledger.queries import active_runs

logger = Logger(service="watchdog")


def dead_letter_depths() -> dict[str, int]:
    sqs = client("sqs")
    depths = {}
    for url in filter(None, os.environ.get("DEAD_LETTER_QUEUES", "").split(",")):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        depths[url.rsplit("/", 1)[1]] = int(attrs["ApproximateNumberOfMessages"])
    return depths


def _age_s(timestamp: str | None, now: datetime) -> float:
    return (now - datetime.fromisoformat(timestamp)).total_seconds() if timestamp else 0.0


def check(now: datetime | None = None) -> list[Envelope]:
    now = now or datetime.now(UTC)
    idle_limit = float(os.environ.get("RUN_IDLE_LIMIT_S", "900"))
    max_duration = float(os.environ.get("RUN_MAX_DURATION_S", "14400"))
    runs = [r for r in active_runs() if r.get("status") == "running"]
    if not runs:
        return []
    depths = {name: depth for name, depth in dead_letter_depths().items() if depth}
    ledger = Ledger()
    announced: list[Envelope] = []
    for run in runs:
        idle = _age_s(run.get("updated_at") or run.get("started_at"), now)
        reason = None
        if depths and idle >= idle_limit:
            reason = "messages in dead-letter queues: " + ", ".join(f"{n}={d}" for n, d in sorted(depths.items()))
        elif _age_s(run.get("started_at"), now) >= max_duration:
            reason = f"stuck: not settled within {int(max_duration)}s"
        if reason:
            logger.warning("run failed", extra={"run_id": run["run_id"], "reason": reason})
            announced += ledger.finish(run["run_id"], "failed", reason, expected="running")
    return announced


def lambda_handler(event: dict, context: object) -> dict:
    announced = check()
    if announced:
        bus.publish(announced)
    return {"failed_runs": [e.run_id for e in announced]}
