"""What Lambda's SQS event source mappings and EventBridge do on AWS, done locally.

A poller long-polls one queue (the emulator answers long polls without holding the queues: see
infra/local/moto_server.py) and calls the function's handler with a Lambda-shaped SQS event,
deleting only the messages the handler did not report in `batchItemFailures`. Redrive to the
DLQ after maxReceiveCount is the queue's own doing (moto implements it on receive). Pollers run
in the functions' worker processes (infra/local/functions.py), one per concurrent execution.
"""

from __future__ import annotations

import importlib
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from infra.local import logs
from infra.local.callers import calling_as
from infra.local.capture import EventCapture
from infra.local.provision import QueueSource, ScheduleSource
from infra.local.template import ACCOUNT_ID, REGION


@dataclass
class LocalContext:
    """The parts of the Lambda context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_ms: int = 120_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self._started) * 1000))


def load_handler(path: str) -> Callable[[dict, Any], Any]:
    module, func = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), func)


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {"stringValue": a.get("StringValue"), "dataType": a.get("DataType", "String"),
                           "stringListValues": [], "binaryListValues": []}
                    for name, a in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


@dataclass
class Counts:
    """Invocations of a function and what they did."""

    invocations: int = 0
    records: int = 0
    failures: int = 0
    errors: int = 0
    busy_s: float = 0.0
    cpu_s: float = 0.0  # the invoking process's CPU time meanwhile: a worker's is its function's own
    cpu_wait_s: float = 0.0  # the invoking thread's time runnable but not running: waiting for a CPU


@dataclass
class Invocation(Counts):
    """What one poll of a worker did: sent to the runtime, which counts it and reads its output
    as CloudWatch Logs would."""

    service: str = ""
    error: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass
class InvocationStats(Counts):
    """A function's invocations, summed over its workers (what CloudWatch's AWS/Lambda gives)."""

    last_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, report: Invocation) -> None:
        with self.lock:
            for counter in fields(Counts):
                setattr(self, counter.name, getattr(self, counter.name) + getattr(report, counter.name))
            if report.error:
                self.last_error = report.error


def cpu_wait_s() -> float:
    """Seconds the calling thread has spent runnable but not running, waiting for a CPU (Linux's
    schedstat; 0 where there is none). Locally every function shares the machine's cores, so this
    is the part of a handler's wall time that AWS, which gives each execution its own, would not see."""
    try:
        with open("/proc/thread-self/schedstat") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def invoke(handler: Callable[[dict, Any], Any], event: dict, context: LocalContext, report: Invocation) -> Any:
    """Call a handler as Lambda would; its output lines go into the report. An unhandled error
    is counted and raised."""
    started, cpu_started, wait_started = time.monotonic(), time.process_time(), cpu_wait_s()
    try:
        with calling_as(report.service), logs.captured() as lines:
            return handler(event, context)
    except Exception:
        report.errors += 1
        report.error = traceback.format_exc(limit=5)
        raise
    finally:
        report.invocations += 1
        report.busy_s += time.monotonic() - started
        report.cpu_s += time.process_time() - cpu_started
        report.cpu_wait_s += cpu_wait_s() - wait_started
        report.lines += lines


class QueuePoller:
    """What an SQS event source mapping does for one concurrent execution of a function."""

    def __init__(self, source: QueueSource, sqs, wait_s: int = 10, capture: EventCapture | None = None) -> None:
        self.source, self.sqs, self.wait_s, self.capture = source, sqs, wait_s, capture
        self.queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{source.queue_url.rsplit('/', 1)[1]}"
        self.handler = load_handler(source.handler)

    def poll_once(self) -> Invocation | None:
        """Receive a batch and invoke the handler on it; None when the queue had nothing."""
        with calling_as("runtime"):  # the event source mapping's requests, not the function's
            response = self.sqs.receive_message(
                QueueUrl=self.source.queue_url,
                MaxNumberOfMessages=min(self.source.batch_size, 10),
                WaitTimeSeconds=self.wait_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        messages = response.get("Messages", [])
        if not messages:
            return None
        wanted = min(self.source.batch_size, 10)
        if len(messages) < wanted and self.source.batching_window_s:
            # The batching window: the mapping gathers records for up to this long before it
            # invokes with fewer than a batch (the rest of the window, then what has come).
            time.sleep(self.source.batching_window_s)
            with calling_as("runtime"):
                more = self.sqs.receive_message(
                    QueueUrl=self.source.queue_url, MaxNumberOfMessages=wanted - len(messages), WaitTimeSeconds=0,
                    AttributeNames=["All"], MessageAttributeNames=["All"])
            messages += more.get("Messages", [])
        report = Invocation(service=self.source.service_name, records=len(messages))
        event = sqs_event(messages, self.queue_arn)
        if self.capture:
            self.capture.record(self.source.queue_url, event)
        try:
            result = invoke(self.handler, event, LocalContext(self.source.function, timeout_ms=self.source.timeout_s * 1000), report)
            failed_ids = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - an unhandled error fails the whole batch, as on Lambda
            failed_ids = {m["MessageId"] for m in messages}
        report.failures = len(failed_ids)
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        if done:
            with calling_as("runtime"):
                self.sqs.delete_message_batch(
                    QueueUrl=self.source.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
        return report


def scheduled_event(rule: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


def rate_seconds(expression: str) -> float | None:
    """`rate(5 minutes)` -> 300; None for cron expressions (fired on demand locally)."""
    if not expression.startswith("rate("):
        return None
    amount, unit = expression[5:-1].split()
    return int(amount) * {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}[unit]


class Scheduler(threading.Thread):
    """Fires rate() schedules, compressed by `time_scale`; cron rules fire only on request. A
    rule that targets a function hands its event to `invoke` (the function's worker)."""

    def __init__(self, schedules: list[ScheduleSource], sqs, stop: threading.Event, time_scale: float,
                 invoke: Callable[[ScheduleSource, dict[str, Any]], None]) -> None:
        super().__init__(name="scheduler", daemon=True)
        self.schedules, self.sqs, self.stop_event, self.time_scale = schedules, sqs, stop, time_scale
        self.invoke = invoke
        self.fired: list[tuple[str, str]] = []
        self.last_error = ""

    def fire(self, schedule: ScheduleSource) -> None:
        if schedule.target_queue_url:
            self.sqs.send_message(QueueUrl=schedule.target_queue_url, MessageBody=schedule.payload)
        elif schedule.handler:
            self.invoke(schedule, scheduled_event(schedule.name))
        self.fired.append((schedule.name, datetime.now(UTC).isoformat()))

    def fire_named(self, fragment: str) -> ScheduleSource:
        schedule = next(s for s in self.schedules if fragment.lower() in s.name.lower())
        self.fire(schedule)
        return schedule

    def run(self) -> None:
        due = {s.name: time.monotonic() + (rate_seconds(s.expression) or 0) / self.time_scale for s in self.schedules}
        while not self.stop_event.wait(0.5):
            for schedule in self.schedules:
                period = rate_seconds(schedule.expression)
                if period is None or schedule.state != "ENABLED" or time.monotonic() < due[schedule.name]:
                    continue
                due[schedule.name] = time.monotonic() + period / self.time_scale
                try:
                    self.fire(schedule)
                except Exception:  # noqa: BLE001 - keep the clock running, like EventBridge
                    self.last_error = traceback.format_exc(limit=3)

