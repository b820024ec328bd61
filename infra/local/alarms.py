"""The template's CloudWatch alarms, evaluated locally (moto stores alarms but never evaluates them).

Each tick the evaluator
1. publishes what AWS itself would publish and moto never computes: `AWS/SQS`
   ApproximateNumberOfMessagesVisible of the queues the alarms watch, `AWS/Lambda` Invocations,
   Errors and Duration of every polled function (from the pollers' statistics), and `AWS/Billing`
   EstimatedCharges from the cost model (services/ledger/cost.py);
2. reads every alarm's datapoints with GetMetricData (the handlers' own metrics arrive by
   PutMetricData, the local metrics sink: METRICS_SINK=cloudwatch), with each Period divided by
   `time_scale` (300 s -> 5 s at the default 60), so an alarm's window is seconds, not minutes;
3. decides each alarm's state as CloudWatch does (EvaluationPeriods, DatapointsToAlarm,
   ComparisonOperator, TreatMissingData; metric math MAX/MIN/SUM/AVG over MetricStats), sets it in
   moto (SetAlarmState) and, on a change into ALARM, publishes CloudWatch's notification JSON to the
   alarm's actions (the alerts topic), once per change.
The window ends now (CloudWatch waits for a period to close): locally an alarm fires sooner.
"""

from __future__ import annotations

import json
import operator
import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from infra.local.template import ACCOUNT_ID, REGION
from infra.ops.alerts import notification

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
_COMBINE: dict[str, Callable[[list[float]], float]] = {
    "MAX": max, "MIN": min, "SUM": sum, "AVG": lambda v: sum(v) / len(v),
}
MAX_QUERIES = 500  # GetMetricData's limit per call
_EXPRESSION = re.compile(r"^\s*(MAX|MIN|SUM|AVG)\s*\(\s*\[([\w\s,]+)\]\s*\)\s*$")


@dataclass
class AlarmState:
    name: str
    state: str = "INSUFFICIENT_DATA"
    reason: str = ""
    changed_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def local_period(period: int, time_scale: float) -> int:
    return max(1, round(int(period) / time_scale))


def queries_for(alarm: dict[str, Any], time_scale: float) -> tuple[list[dict[str, Any]], str | None]:
    """GetMetricData queries (compressed periods) of an alarm and its combining function, if metric math."""
    if "Metrics" not in alarm:
        stat = {"Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                           "Dimensions": alarm.get("Dimensions", [])},
                "Period": local_period(alarm["Period"], time_scale), "Stat": alarm["Statistic"]}
        return [{"Id": "m0", "MetricStat": stat}], None
    expression = next(m for m in alarm["Metrics"] if m.get("ReturnData", True) and "Expression" in m)
    match = _EXPRESSION.match(expression["Expression"])
    if not match:
        raise ValueError(f"{alarm['AlarmName']}: the local evaluator supports MAX/MIN/SUM/AVG([ids]) only")
    ids = [i.strip() for i in match.group(2).split(",")]
    stats = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    queries = [{"Id": i, "MetricStat": {**stats[i], "Period": local_period(stats[i]["Period"], time_scale)}} for i in ids]
    return queries, match.group(1)


def alarm_period(alarm: dict[str, Any]) -> int:
    if "Period" in alarm:
        return int(alarm["Period"])
    return int(next(m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m))


def decide(alarm: dict[str, Any], datapoints: list[float | None], current: str) -> tuple[str, str]:
    """The alarm's new state and reason from its last EvaluationPeriods datapoints (None: missing)."""
    n = int(alarm["EvaluationPeriods"])
    m = int(alarm.get("DatapointsToAlarm", n))
    threshold = float(alarm["Threshold"])
    compare = COMPARE[alarm["ComparisonOperator"]]
    treat = alarm.get("TreatMissingData", "missing")
    present = [v for v in datapoints if v is not None]
    breaching = [v for v in present if compare(v, threshold)]
    missing = len(datapoints) - len(present)
    bad = len(breaching) + (missing if treat == "breaching" else 0)
    shown = ", ".join(f"{v:g}" for v in present[-5:])
    if bad >= m:
        return "ALARM", (f"Threshold Crossed: {bad} out of the last {n} datapoints [{shown}] were "
                         f"{alarm['ComparisonOperator']} the threshold ({threshold:g}) (minimum {m} datapoints).")
    if not present and treat in ("missing", "ignore"):
        return current, "no datapoints"
    return "OK", f"Threshold not crossed: {len(breaching)} of the last {n} datapoints [{shown}] breach {threshold:g}."


class AlarmEvaluator(threading.Thread):
    def __init__(self, alarms: dict[str, dict[str, Any]], clients: Callable[[str], Any], stop: threading.Event, *,
                 time_scale: float = 60.0, interval_s: float | None = None, queue_urls: dict[str, str] | None = None,
                 functions: dict[str, Any] | None = None, charges: Callable[[], float] | None = None,
                 only_with_actions: bool = True) -> None:
        super().__init__(name="alarm-evaluator", daemon=True)
        self.alarms = {k: a for k, a in alarms.items() if a.get("AlarmActions") or not only_with_actions}
        self.cloudwatch, self.sns, self.sqs = clients("cloudwatch"), clients("sns"), clients("sqs")
        self.stop_event, self.time_scale = stop, time_scale
        self.interval_s = interval_s or max(0.5, 120.0 / time_scale)
        self.queue_urls = queue_urls or {}  # queue name -> url
        self.functions = functions or {}  # function name -> InvocationStats
        self.charges = charges
        self.states = {a["AlarmName"]: AlarmState(a["AlarmName"]) for a in self.alarms.values()}
        self.fired: list[dict[str, Any]] = []
        self.ticks = 0
        self.last_error = ""
        self._seen_stats: dict[str, tuple[int, int, float]] = {}
        self._charges_due = 0.0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ what AWS publishes itself
    def _watched_queues(self) -> set[str]:
        names = set()
        for alarm in self.alarms.values():
            stats = [m["MetricStat"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
            if "Namespace" in alarm:
                stats.append({"Metric": alarm})
            for stat in stats:
                if stat["Metric"].get("Namespace") == "AWS/SQS":
                    names |= {d["Value"] for d in stat["Metric"].get("Dimensions", []) if d["Name"] == "QueueName"}
        return names

    def publish_platform_metrics(self) -> None:
        data: list[dict[str, Any]] = []
        for name in sorted(self._watched_queues()):
            url = self.queue_urls.get(name)
            if not url:
                continue
            attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
            data.append({"MetricName": "ApproximateNumberOfMessagesVisible", "Value": float(attrs["ApproximateNumberOfMessages"]),
                         "Dimensions": [{"Name": "QueueName", "Value": name}], "Unit": "Count", "_ns": "AWS/SQS"})
        for function, stats in self.functions.items():
            invocations, errors, busy = stats.invocations, stats.errors, stats.busy_s
            before = self._seen_stats.get(function, (0, 0, 0.0))
            self._seen_stats[function] = (invocations, errors, busy)
            d_inv, d_err, d_busy = invocations - before[0], errors - before[1], busy - before[2]
            if d_inv <= 0:
                continue
            dims = [{"Name": "FunctionName", "Value": function}]
            mean_ms = 1000 * d_busy / d_inv
            data += [
                {"MetricName": "Invocations", "Value": float(d_inv), "Dimensions": dims, "Unit": "Count", "_ns": "AWS/Lambda"},
                {"MetricName": "Errors", "Value": float(max(d_err, 0)), "Dimensions": dims, "Unit": "Count", "_ns": "AWS/Lambda"},
                {"MetricName": "Duration", "Dimensions": dims, "Unit": "Milliseconds", "_ns": "AWS/Lambda",
                 "StatisticValues": {"SampleCount": float(d_inv), "Sum": 1000 * d_busy, "Minimum": mean_ms, "Maximum": mean_ms}},
            ]
        if self.charges and time.monotonic() >= self._charges_due:
            self._charges_due = time.monotonic() + max(5.0, 21600 / self.time_scale / 12)
            data.append({"MetricName": "EstimatedCharges", "Value": float(self.charges()), "Unit": "None",
                         "Dimensions": [{"Name": "Currency", "Value": "USD"}], "_ns": "AWS/Billing"})
        for namespace in sorted({d["_ns"] for d in data}):
            batch = [{k: v for k, v in d.items() if k != "_ns"} for d in data if d["_ns"] == namespace]
            self.cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch)

    # ------------------------------------------------------------------ evaluation
    def window(self, alarm: dict[str, Any], now: datetime) -> tuple[datetime, datetime, int, int]:
        """(start, end, local period, periods) of the datapoints an alarm is decided on."""
        n = int(alarm["EvaluationPeriods"])
        period = local_period(alarm_period(alarm), self.time_scale)
        start = now.replace(microsecond=0) - timedelta(seconds=n * period - 1)
        return start, start + timedelta(seconds=n * period), period, n

    def datapoints(self, now: datetime) -> dict[str, list[float | None]]:
        """Every alarm's datapoints (None: missing), by alarm name. One GetMetricData per distinct
        window, carrying the queries of every alarm with that window: a call per alarm each tick
        was a third of all the requests the runtime itself made."""
        by_window: dict[tuple[datetime, datetime], list[tuple[str, dict[str, Any]]]] = {}
        for key, alarm in self.alarms.items():
            start, end, _, _ = self.window(alarm, now)
            by_window.setdefault((start, end), []).append((key, alarm))
        values: dict[str, dict[str, list[tuple[datetime, float]]]] = {}
        for (start, end), members in by_window.items():
            tagged = [({**q, "Id": f"a{i}_{q['Id']}"}, key) for i, (key, alarm) in enumerate(members)
                      for q in queries_for(alarm, self.time_scale)[0]]
            owner = {query["Id"]: key for query, key in tagged}
            for offset in range(0, len(tagged), MAX_QUERIES):
                chunk = [query for query, _ in tagged[offset:offset + MAX_QUERIES]]
                results = self.cloudwatch.get_metric_data(MetricDataQueries=chunk, StartTime=start, EndTime=end)
                for result in results["MetricDataResults"]:
                    points = list(zip(result["Timestamps"], result["Values"], strict=False))
                    values.setdefault(owner[result["Id"]], {})[result["Id"]] = points
        return {alarm["AlarmName"]: self._fold(alarm, now, values.get(key, {})) for key, alarm in self.alarms.items()}

    def _fold(self, alarm: dict[str, Any], now: datetime,
              results: dict[str, list[tuple[datetime, float]]]) -> list[float | None]:
        start, _, period, n = self.window(alarm, now)
        buckets: list[list[float]] = [[] for _ in range(n)]
        for points in results.values():
            for stamp, value in points:
                index = int((stamp - start).total_seconds() // period)
                if 0 <= index < n:
                    buckets[index].append(float(value))
        combine = queries_for(alarm, self.time_scale)[1]
        fold = _COMBINE[combine] if combine else (lambda v: v[0])
        return [fold(values) if values else None for values in buckets]

    def evaluate(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """One pass over every alarm; returns the notifications published."""
        now = now or datetime.now(UTC)
        sent = []
        datapoints = self.datapoints(now)
        for alarm in self.alarms.values():
            state = self.states[alarm["AlarmName"]]
            new, reason = decide(alarm, datapoints[alarm["AlarmName"]], state.state)
            if new == state.state:
                continue
            old = state.state
            state.state, state.reason, state.changed_at = new, reason, now
            try:
                self.cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=new, StateReason=reason[:1000])
            except ClientError:  # an alarm not provisioned in the emulator: evaluate and notify all the same
                pass
            if new == "ALARM":
                sent.append(self.notify(alarm, old, reason, now))
        return sent

    def notify(self, alarm: dict[str, Any], old: str, reason: str, now: datetime) -> dict[str, Any]:
        subject, message = notification(alarm, old_state=old, new_state="ALARM", reason=reason, account=ACCOUNT_ID,
                                        region=REGION, when=now)
        for topic in alarm.get("AlarmActions", []):
            self.sns.publish(TopicArn=topic, Subject=subject, Message=json.dumps(message))
        with self._lock:
            self.fired.append(message)
        return message

    def tick(self) -> None:
        self.publish_platform_metrics()
        self.evaluate()
        self.ticks += 1

    def run(self) -> None:
        while not self.stop_event.wait(self.interval_s):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep evaluating, as CloudWatch would
                self.last_error = traceback.format_exc(limit=4)

    def fired_names(self) -> list[str]:
        with self._lock:
            return [m["AlarmName"] for m in self.fired]
