"""The functions, run as Lambda runs them: every concurrent execution of a function is a worker
process of its own, with only that function's environment (the template's Globals and its own
`Environment`), doing one invocation at a time.

Workers are forked from a server that has already imported the heavy libraries (boto3, pydantic,
Powertools, pyarrow, PDFium), so a stack starts its dozen workers in about a second; each worker
then sets its environment and imports its handler, as a Lambda sandbox does on a cold start.
A worker sends the runtime what each poll did (`pollers.Invocation`): the runtime counts it
(the functions' Errors and Duration for the alarms) and reads its output as CloudWatch Logs
does (`logs.deliver`: EMF lines become metrics). A worker ends when the runtime stops it, and on
its own when the runtime's process dies (`kill -9` of the stack leaves no worker behind).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

from infra.local.pollers import Invocation, InvocationStats, LocalContext
from infra.local.provision import QueueSource

# Imported once by the fork server, shared by every worker (none keeps anything of the runtime's
# environment; infra/local/preload.py also reads botocore's data and imports pandas once).
PRELOAD = ["boto3", "botocore.session", "pydantic", "pynamodb.models", "pyarrow.parquet", "aws_lambda_powertools",
           "aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.parser", "aws_xray_sdk.core",
           "pypdfium2", "yaml", "events.models", "infra.local.pollers", "infra.local.preload"]
# What a worker keeps of the runtime's own environment besides its function's: the system's
# basics, and what measures it (coverage of the test suite).
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "VIRTUAL_ENV", "DISCLOSURES_FIXTURES")
_INHERITED_PREFIXES = ("PYTHON", "COV_CORE_", "COVERAGE_")
_STOP_GRACE_S = 15.0
_REPORTS_PER_DELIVERY = 50
_DELIVERY_LINGER_S = 0.25

_context: ForkServerContext | None = None


def fork_server() -> ForkServerContext:
    """The server the stack's workers fork from (the functions', and the local API's)."""
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


@dataclass(frozen=True)
class WorkerSpec:
    """One concurrent execution of a function: what it runs, on what, with what environment."""

    function: str  # the function's name (its physical name in the stack)
    service: str
    handler: str
    environment: dict[str, str]
    queue: QueueSource | None = None  # its SQS event source; None: invoked by the runtime (a schedule)
    wait_s: int = 10
    nice: int = 0  # a lower CPU priority (see LocalRuntime.start_pollers)
    capture_dir: str | None = None
    stack_name: str = ""
    timeout_s: int = 120  # the function's Timeout, for its invocations' context


def worker_environment(function_env: dict[str, str], function: str) -> dict[str, str]:
    """A worker's whole environment: the function's, with the little of the runtime's own a process needs."""
    kept = {k: v for k, v in os.environ.items() if k in _INHERITED or k.startswith(_INHERITED_PREFIXES)}
    return {**kept, **function_env, "AWS_LAMBDA_FUNCTION_NAME": function}


def _serve(spec: WorkerSpec, runtime_pid: int, stop: Any, outbox: Any, inbox: Any) -> None:
    """The worker process: its environment, its handler, then polls until told to stop."""
    os.environ.clear()
    os.environ.update(spec.environment)
    from infra.local import callers, logs, preload
    from infra.local.capture import EventCapture
    from infra.local.children import exit_with
    from infra.local.pollers import QueuePoller, invoke, load_handler

    preload.share_loader()

    # The fork server is our parent, and outlives the runtime while any of its workers runs.
    exit_with(runtime_pid, lambda: os._exit(0))
    callers.install(spec.service)
    logs.install()
    if spec.nice:
        os.nice(spec.nice)
    if spec.queue is None:
        handler = load_handler(spec.handler)
        while not stop.is_set():
            try:
                event = inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            report = Invocation(service=spec.service)
            with contextlib.suppress(Exception):  # counted in the report, as Lambda counts an error
                invoke(handler, event, LocalContext(spec.function, timeout_ms=spec.timeout_s * 1000), report)
            outbox.put(report)
        return
    import boto3

    capture = EventCapture(Path(spec.capture_dir), spec.stack_name) if spec.capture_dir else None
    poller = QueuePoller(spec.queue, boto3.client("sqs"), wait_s=spec.wait_s, capture=capture)
    while not stop.is_set():
        try:
            polled = poller.poll_once()
        except Exception:  # noqa: BLE001 - the event source mapping outlives any one failure
            outbox.put(Invocation(service=spec.service, errors=1, error=traceback.format_exc(limit=3)))
            stop.wait(0.5)
            continue
        if polled is not None:
            outbox.put(polled)


class FunctionWorkers:
    """The runtime's side: starts the workers, counts what they report and reads their output."""

    def __init__(self, cloudwatch: Any, stats: dict[str, InvocationStats]) -> None:
        self.context = fork_server()
        self.cloudwatch, self.stats = cloudwatch, stats
        self.stop_event = self.context.Event()
        self.outbox = self.context.Queue()
        self.processes: list[tuple[WorkerSpec, Any]] = []
        self.inboxes: dict[str, Any] = {}  # function -> its invocation queue (functions on a schedule)
        self._reader = threading.Thread(target=self._read, name="function-reports", daemon=True)
        self._done = threading.Event()
        self.last_error = ""  # the last failure to deliver the workers' metrics, for diagnostics

    def start(self, specs: list[WorkerSpec]) -> None:
        for spec in specs:
            self.stats.setdefault(spec.service, InvocationStats())
            inbox = None
            if spec.queue is None:
                inbox = self.inboxes.setdefault(spec.function, self.context.Queue())
            process = self.context.Process(target=_serve, args=(spec, os.getpid(), self.stop_event, self.outbox, inbox),
                                           name=f"{spec.function}-worker", daemon=True)
            process.start()
            self.processes.append((spec, process))
        self._reader.start()

    def invoke(self, function: str, event: dict[str, Any]) -> None:
        """Hand an event to a function invoked by the runtime (asynchronously, as EventBridge does)."""
        self.inboxes[function].put(event)

    def _read(self) -> None:
        from infra.local import logs

        while not (self._done.is_set() and self.outbox.empty()):
            try:
                reports: list[Invocation] = [self.outbox.get(timeout=0.2)]
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return
            # What else ends within a moment goes in the same PutMetricData, as CloudWatch Logs
            # batches a log group's events: one request per invocation was a sixth of the
            # runtime's own requests under a full year.
            linger_until = time.monotonic() + _DELIVERY_LINGER_S
            with contextlib.suppress(queue.Empty, EOFError, OSError):
                while len(reports) < _REPORTS_PER_DELIVERY:
                    reports.append(self.outbox.get(timeout=max(0.0, linger_until - time.monotonic())))
            for report in reports:
                self.stats.setdefault(report.service, InvocationStats()).add(report)
            lines = [line for report in reports for line in report.lines]
            if self.cloudwatch is not None and lines:
                try:
                    logs.deliver(lines, self.cloudwatch)
                except Exception:  # noqa: BLE001 - keep reading reports; the alarms will miss these
                    self.last_error = traceback.format_exc(limit=3)

    def alive(self) -> dict[str, int]:
        """Workers running, by function."""
        out: dict[str, int] = {}
        for spec, process in self.processes:
            out[spec.function] = out.get(spec.function, 0) + int(process.is_alive())
        return out

    def stop(self, wake: Any = None) -> None:
        """Ask every worker to stop after its invocation; `wake` answers their long polls now."""
        self.stop_event.set()
        if wake is not None:
            with contextlib.suppress(OSError):
                wake()
        deadline = time.monotonic() + _STOP_GRACE_S
        for _, process in self.processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for _, process in self.processes:
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        self._done.set()
        if self._reader.is_alive():
            self._reader.join(timeout=5)
