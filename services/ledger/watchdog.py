"""Watchdog: fails runs that cannot finish (stuck, or waiting on their messages in a DLQ).

The ledger only learns from events; a run whose work died in a dead-letter queue sends none.
This scheduled check turns that silence into a recorded failure, which raises the alarm.
A failed run can still settle later, when the dead letters are replayed.

A run is failed for dead letters only when it is idle and some of the messages read from the
DLQs belong to it (`dead_letters.py`); a dead letter that names no run fails nobody (it still
counts in DeadLetterMessages and is logged, and the max-duration rule ends a run it strands).

Every tick it also reports what only a periodic look can see: the depth of the dead-letter
queues, the hours since data was last published (freshness) and the runs it found stuck. And it
announces again the end of a recent run whose run.succeeded / run.failed was never recorded as
published (its publish failed after the status was written): the failure alarm counts those.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Field

from events.models import Envelope
from services.common import bus
from services.common.aws import client
from services.common.config import PipelineSettings
from services.common.observability import lambda_entry, tools
from services.ledger import dead_letters
from services.ledger.ledger import FINAL_STATUSES, Ledger
from services.ledger.queries import active_runs, first_run_started_at, last_success_finished_at, list_runs

logger, tracer, metrics = tools("watchdog")

# An end not recorded as announced this long after it was written lost its publish. The newest
# runs are looked at (ordered by start; the nightly rule starts one a day), and an end older than
# a day is left alone: its alarm would come too late to help.
ANNOUNCE_GRACE_S = 120.0
ANNOUNCE_WITHIN_S = 86_400.0
ENDINGS_WINDOW = 20


class WatchdogSettings(PipelineSettings, dead_letters.DeadLetterSettings):
    run_idle_limit_s: float = Field(900.0, gt=0, description="A run with no event for this long, and messages of it in a DLQ, fails")
    run_max_duration_s: float = Field(14_400.0, gt=0, description="A run older than this fails")
    dlq_peek_limit: int = Field(100, ge=0, description="Messages read per DLQ and tick to find their runs")


SETTINGS = WatchdogSettings


def dead_letter_depths() -> dict[str, int]:
    """DLQ URL -> messages waiting."""
    sqs = client("sqs")
    depths = {}
    for url in WatchdogSettings.from_env().queue_urls:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        depths[url] = int(attrs["ApproximateNumberOfMessages"])
    return depths


def _age_s(timestamp: str | None, now: datetime) -> float:
    if not timestamp:
        return 0.0
    moment = datetime.fromisoformat(timestamp)
    # A producer that wrote a naive time meant UTC; one bad stamp must not stop every check.
    return (now - (moment if moment.tzinfo else moment.replace(tzinfo=UTC))).total_seconds()


def freshness_hours(now: datetime) -> float | None:
    """Hours since data was last published (the last succeeded run finished).

    Before any run succeeded, the hours since the first run started: a new deployment whose
    runs all fail goes stale too, where reporting nothing would keep the stale-data alarm
    silent forever. None only when no run ever started (the nightly rule is not enabled yet).
    """
    since = last_success_finished_at() or first_run_started_at()
    return round(_age_s(since, now) / 3600, 3) if since else None


def letters_by_run(depths: dict[str, int]) -> dict[str, Counter[str]]:
    """Run id -> DLQ name -> messages of that run among those read (DLQ_PEEK_LIMIT per queue)."""
    limit = WatchdogSettings.from_env().dlq_peek_limit
    owners: dict[str, Counter[str]] = {}
    for queue in dead_letters.read(client("sqs"), [url for url, depth in depths.items() if depth], limit):
        for run_id, count in queue.by_run.items():
            owners.setdefault(run_id, Counter())[queue.name] += count
        if queue.unattributed:
            logger.warning("dead letters that name no run", extra={"queue": queue.name, "messages": queue.unattributed})
    return owners


def check(now: datetime | None = None, report: bool = False) -> list[Envelope]:
    now = now or datetime.now(UTC)
    own = WatchdogSettings.from_env()
    idle_limit, max_duration = own.run_idle_limit_s, own.run_max_duration_s
    # Settled runs wait on build_gold and publish_api: their dead letters strand a run too.
    runs = active_runs()
    depths = dead_letter_depths() if (runs or report) else {}
    if report:
        metrics.add_metric(name="DeadLetterMessages", unit=MetricUnit.Count, value=sum(depths.values()))
        fresh = freshness_hours(now)
        if fresh is not None:
            metrics.add_metric(name="DataFreshnessHours", unit=MetricUnit.NoUnit, value=fresh)
    idle = {r["run_id"] for r in runs if _age_s(r.get("updated_at") or r.get("started_at"), now) >= idle_limit}
    # Only an idle run can be failed for dead letters: read them only then.
    owners = letters_by_run(depths) if idle and any(depths.values()) else {}
    ledger = Ledger()
    announced: list[Envelope] = []
    stuck = 0
    for run in runs:
        letters = owners.get(run["run_id"])
        reason = None
        if letters and run["run_id"] in idle:
            reason = "messages in dead-letter queues: " + ", ".join(f"{n}={c}" for n, c in sorted(letters.items()))
        elif _age_s(run.get("started_at"), now) >= max_duration:
            reason = f"stuck: not settled within {int(max_duration)}s"
            stuck += 1
        if reason:
            logger.warning("run failed", extra={"run_id": run["run_id"], "reason": reason})
            announced += ledger.finish(run["run_id"], "failed", reason, expected=("running", "settled"))
    if report and stuck:
        metrics.add_metric(name="RunsStuck", unit=MetricUnit.Count, value=stuck)
    ended_now = {event.run_id for event in announced}
    for run in list_runs(limit=ENDINGS_WINDOW):
        if (run["run_id"] not in ended_now and run.get("status") in FINAL_STATUSES and not run.get("final_announced_at")
                and ANNOUNCE_GRACE_S <= _age_s(run.get("finished_at"), now) < ANNOUNCE_WITHIN_S):
            logger.warning("run end announced again", extra={"run_id": run["run_id"], "status": run["status"]})
            announced += ledger.unannounced_end(run["run_id"])
    return announced


@lambda_entry(logger, tracer, metrics)
def lambda_handler(event: dict, context: object) -> dict:
    announced = check(report=True)
    if announced:
        bus.publish(announced)
        Ledger.announced(announced)
    return {"failed_runs": [e.run_id for e in announced]}
