"""The local runtime: the template's system on one machine, with moto standing in for AWS.

It starts (or attaches to) the emulator, serves a Clerk mirror when the source is a folder,
provisions the template, and runs what AWS would run: every function in worker processes of its
own (infra/local/functions.py) polling its SQS event sources, the scheduler, alarms evaluation
and DLQ replay. This process is the operator's: it reaches every bucket, table and topic.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from events.models import Envelope, RunRequested, new_run_id
from infra.local.emulator import Emulator
from infra.local.mirror import MirrorServer
from infra.local.pollers import InvocationStats, Scheduler
from infra.local.provision import Provisioned, provision
from infra.local.template import TEMPLATE_PATH, Stack, lambda_python, load
from infra.ops import dlq
from services.common.config import shared_fixtures

if TYPE_CHECKING:  # imported where they start: a stack without alarms or HTTP never loads them
    from infra.local.alarms import AlarmEvaluator
    from infra.local.functions import FunctionWorkers
    from infra.local.http_api import HttpApiServer, HttpApiWorkers
from services.common.idempotency import TABLE_ENV as IDEMPOTENCY_TABLE_ENV

SHARED_YEAR = shared_fixtures() / "house-clerk" / "mirror-2025"  # the real 2025 year: the main job
SHARED_MIRROR = shared_fixtures() / "house-clerk" / "mirror"  # a 34-row slice of it: fast tests name it
SHARED_REFERENCE = shared_fixtures() / "reference"
REAL_CLERK = "https://disclosures-clerk.house.gov"
LEGISLATORS_FILE = "legislators-current.yaml"
LEGISLATORS_HISTORY_FILE = "legislators-house-2012-2026.yaml"  # former members too
IMAGE_FUNCTION_NICE = 10

# Local stand-ins for production timings: retries and watchdog checks in seconds, not minutes.
LOCAL_ENV = {
    "STAGE": "local",
    "FETCH_DELAY_MS": "0",
    "HTTP_BACKOFF_S": "0.05",
    "RUN_IDLE_LIMIT_S": "8",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


def python_notice() -> str | None:
    """What to tell the operator when the functions run here on another Python than on AWS."""
    here, there = f"{sys.version_info.major}.{sys.version_info.minor}", lambda_python()
    if here == there:
        return None
    return (f"the functions run on Python {here} here and on python{there} on AWS: with python{there} "
            f"installed, `rm -rf .venv` then `make demo` builds the venv on it")


def default_source() -> str:
    """The real 2025 year when the shared fixtures are beside the project (offline), else the
    small mirror, else the real Clerk."""
    return next((str(folder) for folder in (SHARED_YEAR, SHARED_MIRROR) if folder.is_dir()), REAL_CLERK)


def default_reference() -> str | None:
    """The shared reference folder when present (offline); None keeps the template's URL."""
    return str(SHARED_REFERENCE) if (SHARED_REFERENCE / LEGISLATORS_FILE).is_file() else None


@dataclass
class RuntimeOptions:
    source: str = field(default_factory=default_source)
    reference: str | None = field(default_factory=default_reference)  # folder holding legislators-current.yaml
    stack_name: str = "disclosures-local"
    endpoint: str | None = None  # attach to a running emulator instead of starting one
    # The local clock: rate(5 minutes) fires every 5 s, a 720 s visibility timeout lasts 12 s.
    time_scale: float = 60.0
    long_poll_s: int = 10  # a poller's WaitTimeSeconds (Lambda's event source mappings use 20)
    env: dict[str, str] = field(default_factory=dict)
    emulator_log: str | None = None
    template: Path = TEMPLATE_PATH
    http_port: int | None = None  # serve the API and the website on this port (0: any free one)
    # Processes serving it, as API Gateway spreads requests over Lambda instances; 1: threads of
    # this process (no second interpreter; what a test that patches the API in-process needs).
    http_workers: int = 2
    alarms: bool = True  # evaluate the template's alarms (periods divided by time_scale)
    alarm_interval_s: float | None = None  # seconds between evaluations (default: 120 s / time_scale)
    # Keep the emulator's state (objects, tables, queued messages, the site) in this folder across
    # restarts and crashes; None: in memory only, gone when the emulator stops.
    state_dir: Path | None = None
    capture_dir: Path | None = None  # keep the first SQS event of each kind per queue here (infra/local/capture.py)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers bind: a port its last owner just closed (TIME_WAIT) is free to them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalRuntime:
    def __init__(self, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        self.emulator: Emulator | None = None
        self.mirror: MirrorServer | None = None
        self.reference: MirrorServer | None = None
        self.provisioned: Provisioned | None = None
        self.settled_at_start = 0  # documents the ledger held settled when the emulator's request counts began
        self.stop_event = threading.Event()
        self.workers: FunctionWorkers | None = None
        self.stats: dict[str, InvocationStats] = {}
        self.scheduler: Scheduler | None = None
        self.alarms: AlarmEvaluator | None = None
        self.http: HttpApiWorkers | HttpApiServer | None = None
        self._owns_emulator = False
        self._saved_env: dict[str, str | None] = {}

    # ------------------------------------------------------------------ lifecycle
    @property
    def source_url(self) -> str:
        if self.mirror:
            return self.mirror.url
        return self.options.source

    def start(self, pollers: bool = True) -> LocalRuntime:
        opts = self.options
        if opts.endpoint:
            self.emulator = Emulator(endpoint=opts.endpoint)
        else:
            self.emulator = Emulator.start(port=self._saved_port("emulator"), log_path=opts.emulator_log,
                                           state_dir=opts.state_dir)
            self._owns_emulator = True
        if Path(opts.source).is_dir():
            self.mirror = MirrorServer(Path(opts.source), port=self._saved_port("mirror") or 0).start()
        parameters = {"ClerkBaseUrl": self.source_url, "Stage": "local"}
        if opts.reference:
            self.reference = MirrorServer(Path(opts.reference), port=self._saved_port("reference") or 0).start()
            parameters["LegislatorsUrl"] = f"{self.reference.url}/{LEGISLATORS_FILE}"
            history = Path(opts.reference) / LEGISLATORS_HISTORY_FILE
            parameters["LegislatorsHistoryUrl"] = f"{self.reference.url}/{LEGISLATORS_HISTORY_FILE}" if history.is_file() else ""
        self._save_ports()
        stack = Stack(load(opts.template), name=opts.stack_name, endpoint=self.emulator.endpoint, parameters=parameters)
        self.provisioned = provision(stack, self.emulator, visibility_scale=opts.time_scale)
        self._configure_process()
        if self._owns_emulator and opts.state_dir:
            self.release_interrupted_work()
            # Kept runs are not this start's: its request counts begin at zero, their documents must too.
            from services.ledger.queries import documents_settled

            self.settled_at_start = documents_settled()
        if pollers:
            self.start_pollers()
        if opts.http_port is not None:
            self.start_http(opts.http_port)
        return self

    def release_interrupted_work(self) -> int:
        """Delete the idempotency records still marked in progress: a stack that starts on kept
        state has no invocation running, so whoever held them died with the previous stack. The
        emulator makes their messages visible again; without this their redeliveries would wait
        out each dead invocation's deadline before doing the work. Returns the records released."""
        assert self.provisioned
        table = self.provisioned.environment.get(IDEMPOTENCY_TABLE_ENV)
        if not table:
            return 0
        dynamodb = self.client("dynamodb")
        held = [item["id"] for page in dynamodb.get_paginator("scan").paginate(
            TableName=table, FilterExpression="#s = :p", ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":p": {"S": "INPROGRESS"}}, ProjectionExpression="id") for item in page["Items"]]
        for key in held:
            dynamodb.delete_item(TableName=table, Key={"id": key},
                                 ConditionExpression="#s = :p", ExpressionAttributeNames={"#s": "status"},
                                 ExpressionAttributeValues={":p": {"S": "INPROGRESS"}})
        return len(held)

    # A persistent stack keeps its ports: a run interrupted by a crash carries the mirror's URL in
    # its queued events, and the emulator's queue URLs carry its port.
    def _ports_file(self) -> Path | None:
        return Path(self.options.state_dir) / "ports.json" if self.options.state_dir else None

    def _saved_port(self, name: str) -> int | None:
        path = self._ports_file()
        if path is None or not path.exists():
            return None
        port = json.loads(path.read_text()).get(name)
        return port if port and _port_free(port) else None

    def _save_ports(self) -> None:
        path = self._ports_file()
        if path is None:
            return
        ports = {"emulator": int(self.emulator.endpoint.rsplit(":", 1)[1]) if self.emulator and self._owns_emulator
                 else None,
                 "mirror": self.mirror.httpd.server_address[1] if self.mirror else None,
                 "reference": self.reference.httpd.server_address[1] if self.reference else None,
                 "source": self.options.source}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(ports))

    def start_http(self, port: int = 0, workers: int | None = None) -> str:
        """Serve the API and the website (from the site bucket) as API Gateway and the CDN would."""
        from infra.local.http_api import HttpApiServer, HttpApiWorkers
        from services.publish_api.publish import upload_static

        assert self.provisioned
        upload_static(self.client("s3"), self.provisioned.environment["SITE_BUCKET"])
        workers = self.options.http_workers if workers is None else workers
        # The workers take this process's environment: the stack's endpoint and buckets, set above.
        http = HttpApiWorkers(workers, port=port) if workers > 1 else HttpApiServer(port=port)
        self.http = http
        http.start()
        return http.url

    def _configure_process(self) -> None:
        """Point this process (which hosts every handler) at the emulator and the stack."""
        from infra.local import callers
        from services.common import aws, config, tables, watermarks

        assert self.emulator and self.provisioned
        callers.install()
        changes = {**self.emulator.environment(), **self.provisioned.environment, **LOCAL_ENV, **self.options.env}
        self._saved_env = {name: os.environ.get(name) for name in changes}
        os.environ.update(changes)
        config.settings.cache_clear()
        aws.reset_clients()
        tables.configure_from_env()
        watermarks.forget_breaker()

    def function_environment(self, function_env: dict[str, str], function: str) -> dict[str, str]:
        """A worker's environment: its function's variables from the template, pointed at the
        emulator, with the local stand-ins for production timings where the function has them."""
        from infra.local.functions import worker_environment

        assert self.emulator
        local = {**LOCAL_ENV, **self.options.env}
        overrides = {k: v for k, v in local.items() if k in function_env or k.startswith("POWERTOOLS_")}
        return worker_environment({**self.emulator.environment(), **function_env, **overrides}, function)

    def start_pollers(self) -> None:
        """Start every function's workers (one per concurrent execution) and the scheduler."""
        assert self.provisioned and self.emulator
        from infra.local import logs
        from infra.local.functions import FunctionWorkers, WorkerSpec

        sqs, cloudwatch = self.emulator.client("sqs"), self.emulator.client("cloudwatch")
        logs.install()
        capture = str(self.options.capture_dir) if self.options.capture_dir else None
        # The container-image function (OCR: minutes of CPU a scan) runs at a lower CPU priority.
        # On AWS it has CPUs of its own; on a machine of two cores it would otherwise hold every
        # e-filed document behind it.
        specs = [
            WorkerSpec(source.function, source.service_name, source.handler,
                       self.function_environment(source.environment, source.function), queue=source,
                       wait_s=self.options.long_poll_s, capture_dir=capture, stack_name=self.options.stack_name,
                       nice=IMAGE_FUNCTION_NICE if source.image else 0)
            for source in self.provisioned.queue_sources for _ in range(source.max_concurrency)
        ]
        specs += [
            WorkerSpec(schedule.function, schedule.service_name or schedule.function, schedule.handler,
                       self.function_environment(schedule.environment, schedule.function), timeout_s=schedule.timeout_s)
            for schedule in self.provisioned.schedules if schedule.handler
        ]
        workers = self.workers = FunctionWorkers(cloudwatch, self.stats)
        workers.start(specs)
        self.scheduler = Scheduler(self.provisioned.schedules, sqs, self.stop_event, self.options.time_scale,
                                   invoke=lambda schedule, event: workers.invoke(schedule.function, event))
        self.scheduler.start()
        if self.options.alarms:
            self.start_alarms()

    def start_alarms(self) -> None:
        """Evaluate the template's alarms as CloudWatch would, publishing to the alerts topic."""
        from infra.local.alarms import AlarmEvaluator

        assert self.provisioned and self.emulator
        functions = {s.function: self.stats[s.service_name] for s in self.provisioned.queue_sources
                     if s.service_name in self.stats}
        alarms = self.alarms = AlarmEvaluator(
            self.provisioned.alarms, self.emulator.client, self.stop_event, time_scale=self.options.time_scale,
            interval_s=self.options.alarm_interval_s,
            queue_urls={url.rsplit("/", 1)[1]: url for url in self.provisioned.queues.values()},
            functions=functions, charges=self.estimated_charges,
        )
        alarms.start()

    def estimated_charges(self) -> float:
        """Month-to-date estimate from the ledger: the local stand-in for AWS/Billing."""
        from services.ledger.cost import month_to_date
        from services.ledger.queries import list_runs

        return month_to_date(list_runs(1000))

    def alerts(self, consume: bool = False) -> list[dict[str, Any]]:
        """The alarm notifications that arrived on the alerts topic (via the local alerts inbox)."""
        from infra.ops.alerts import read_inbox

        assert self.provisioned
        if not self.provisioned.alerts_inbox_url:
            return []
        return read_inbox(self.client("sqs"), self.provisioned.alerts_inbox_url, consume=consume)

    def stop_functions(self) -> None:
        """Stop every function's workers once their invocations end; what they printed is read."""
        if self.workers:
            # The workers' long polls answer now, not at their end (an emulator that is gone holds none).
            self.workers.stop(wake=self.emulator.wake_polls if self.emulator else None)

    def stop(self) -> None:
        self.stop_event.set()
        self.stop_functions()
        if self.scheduler:
            self.scheduler.join(timeout=5)
        if self.alarms:
            self.alarms.join(timeout=5)
        for server in (self.mirror, self.reference, self.http):
            if server:
                server.stop()
        from infra.local import logs

        logs.uninstall()
        if self.emulator and self._owns_emulator:
            self.emulator.stop()
        self._restore_process()

    def _restore_process(self) -> None:
        """Give the process back its environment: one runtime must not leak into the next."""
        from services.common import aws, config

        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}
        config.settings.cache_clear()
        aws.reset_clients()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ operations
    def client(self, service: str):
        assert self.emulator
        return self.emulator.client(service)

    def request(self, detail) -> str:
        """Publish a run-starting event (run.requested, gold.requested) as the CLI does."""
        from services.common import bus

        run_id = new_run_id()
        bus.publish_one(Envelope.build(detail, run_id=run_id, source="cli"))
        return run_id

    def request_run(self, years: list[int], *, force: bool = False, doc_ids: list[str] | None = None,
                    trigger: str = "cli", source_url: str | None = None) -> str:
        return self.request(RunRequested(years=years, source_url=source_url or self.source_url, trigger=trigger,
                                         force=force, doc_ids=doc_ids or []))

    def fire_nightly(self, timeout_s: float = 30.0) -> str:
        """Fire the nightly rule as EventBridge would, and return the run it started."""
        from services.ledger.queries import list_runs

        assert self.scheduler
        fired_at = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.scheduler.fire_named("Nightly")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            runs = [r for r in list_runs(50) if r.get("trigger") == "schedule" and r["run_id"] >= fired_at]
            if runs:
                return runs[-1]["run_id"]
            time.sleep(0.2)
        raise TimeoutError("the nightly rule fired but no run started")

    def run_item(self, run_id: str) -> dict[str, Any] | None:
        from services.ledger.queries import get_run

        return get_run(run_id)

    def wait_for_run(self, run_id: str, timeout_s: float = 300.0,
                     on_progress: Callable[[dict[str, Any]], None] | None = None,
                     statuses: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The run once its status is one of `statuses` (default: it ended)."""
        from services.common.tables import RunItem
        from services.ledger.ledger import FINAL_STATUSES
        from services.ledger.queries import _plain

        statuses = statuses or FINAL_STATUSES

        started = time.monotonic()
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            try:
                run = _plain(RunItem.get(*RunItem.KIND.key(run_id=run_id), consistent_read=True))
            except RunItem.DoesNotExist:
                run = {"run_id": run_id, "status": "requested"}
            if on_progress:
                on_progress(run)
            if run.get("status") in statuses:
                return run
            # Often at first (a small run ends in seconds), then once a second: a long run's
            # watcher is not the emulator's busiest client.
            time.sleep(min(1.0, 0.25 + (time.monotonic() - started) / 20))
        raise TimeoutError(f"run {run_id} did not reach {statuses} within {timeout_s}s: {self.diagnostics()}\n"
                           f"{self.worker_status()}")

    def wait_idle(self, quiet_s: float = 1.5, timeout_s: float = 60.0) -> None:
        """Until no queue holds or hides a message for quiet_s (nothing more will happen)."""
        assert self.provisioned
        sqs = self.client("sqs")
        deadline = time.monotonic() + timeout_s
        quiet_since = None
        while time.monotonic() < deadline:
            busy = 0
            for url in self.provisioned.queues.values():
                attrs = sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
                )["Attributes"]
                if url in self.provisioned.dead_letter_queues:
                    busy += int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                return
            time.sleep(0.2)
        raise TimeoutError(f"queues still busy after {timeout_s}s")

    def dlq_info(self) -> list[dlq.DlqInfo]:
        assert self.provisioned
        return dlq.describe(self.client("sqs"), self.provisioned.dead_letter_queues)

    def replay_dlqs(self) -> dict[str, int]:
        assert self.provisioned
        sqs = self.client("sqs")
        return {
            dlq_url.rsplit("/", 1)[1]: dlq.replay_local(sqs, dlq_url, source_url)
            for source_url, dlq_url in self.provisioned.dead_letter_queues.items()
        }

    def diagnostics(self) -> dict[str, Any]:
        return {
            name: {"invocations": s.invocations, "records": s.records, "failures": s.failures, "errors": s.errors,
                   "last_error": s.last_error[-800:]}
            for name, s in self.stats.items()
        }

    def worker_status(self) -> str:
        """The function workers still running: what a stuck run may be waiting on."""
        status = f"workers alive by function: {self.workers.alive() if self.workers else {}}"
        if self.workers and self.workers.last_error:
            status += f"\nlast failure to deliver their metrics: {self.workers.last_error[-800:]}"
        return status

    def describe(self) -> dict[str, Any]:
        """What a separate CLI process needs to operate this stack (written to the state file)."""
        assert self.emulator and self.provisioned
        return {
            "endpoint": self.emulator.endpoint,
            "stack_name": self.options.stack_name,
            "source_url": self.source_url,
            "source": str(Path(self.options.source).resolve()) if Path(self.options.source).is_dir() else self.options.source,
            "environment": self.provisioned.environment,
            "queues": self.provisioned.queues,
            "dead_letter_queues": self.provisioned.dead_letter_queues,
            "http_url": self.http.url if self.http else None,
            "alerts_topic_arn": self.provisioned.alerts_topic_arn,
            "alerts_inbox_url": self.provisioned.alerts_inbox_url,
            "documents_settled_at_start": self.settled_at_start,
        }
