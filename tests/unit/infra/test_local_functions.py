"""What the local runtime gives each function: its own environment, and the template's
visibility timeouts on the local clock."""

from __future__ import annotations

from pathlib import Path

from infra.local.emulator import Emulator
from infra.local.provision import MIN_VISIBILITY_S, local_visibility
from infra.local.runtime import LOCAL_ENV, LocalRuntime, RuntimeOptions
from infra.local.template import Stack, load


def _runtime(**options) -> LocalRuntime:
    runtime = LocalRuntime(RuntimeOptions(source="/nowhere", **options))
    runtime.emulator = Emulator(endpoint="http://127.0.0.1:1")
    return runtime


def test_a_functions_environment_is_its_own_with_local_timings_only_where_it_has_them():
    stack = Stack(load(), name="t", endpoint="http://127.0.0.1:1")
    runtime = _runtime(env={"RUN_IDLE_LIMIT_S": "3"})
    fetch = runtime.function_environment(stack.environment_of("FetchFunction"), "t-fetch")
    ledger = runtime.function_environment(stack.environment_of("LedgerFunction"), "t-ledger")
    watchdog = runtime.function_environment(stack.environment_of("WatchdogFunction"), "t-watchdog")
    assert fetch["FETCH_DELAY_MS"] == LOCAL_ENV["FETCH_DELAY_MS"] and "FETCH_DELAY_MS" not in ledger
    assert watchdog["RUN_IDLE_LIMIT_S"] == "3" and "RUN_IDLE_LIMIT_S" not in fetch  # the test's own, as asked
    assert "LEDGER_DLQ_URL" in ledger and "LEDGER_DLQ_URL" not in fetch
    assert fetch["POWERTOOLS_SERVICE_NAME"] == "fetch" and ledger["POWERTOOLS_SERVICE_NAME"] == "ledger"
    assert fetch["AWS_LAMBDA_FUNCTION_NAME"] == "t-fetch" and fetch["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert fetch["POWERTOOLS_LOG_LEVEL"] == LOCAL_ENV["POWERTOOLS_LOG_LEVEL"]


def test_only_the_image_function_runs_at_a_lower_priority_and_each_has_its_timeout():
    from infra.local.provision import Provisioned, _functions

    stack = Stack(load(), name="t", endpoint="http://127.0.0.1:1")
    provisioned = Provisioned()
    provisioned.queues = {lid: f"/{stack.physical_name(lid)}" for lid in stack.of_type("AWS::SQS::Queue")}
    _functions(stack, None, provisioned)  # type: ignore[arg-type]
    assert {s.service_name for s in provisioned.queue_sources if s.image} == {"ocr"}
    # What a function's context says is left counts down from its own Timeout, as on Lambda.
    timeouts = {s.service_name: s.timeout_s for s in provisioned.queue_sources + provisioned.schedules}
    assert (timeouts["extract"], timeouts["ocr"], timeouts["discover"], timeouts["ledger"]) == (120, 900, 600, 30)


def test_a_workers_requests_on_its_own_threads_are_counted_as_its_function(monkeypatch):
    from infra.local import callers

    monkeypatch.setattr(callers, "_process", {})
    request = type("Request", (), {"headers": {}})()
    callers._tag(request)
    assert request.headers[callers.CALLER_HEADER] == "runtime"
    callers._process["name"] = "publish_api"  # what install(process_caller) sets in a worker
    callers._tag(request)
    assert request.headers[callers.CALLER_HEADER] == "publish_api"
    with callers.calling_as("runtime"):  # the event source mapping's own requests
        callers._tag(request)
    assert request.headers[callers.CALLER_HEADER] == "runtime"


def test_visibility_timeouts_are_the_templates_on_the_local_clock():
    assert [local_visibility(s, 60) for s in (720, 5400, 3600)] == [12, 90, 60]
    assert local_visibility(180, 60) == MIN_VISIBILITY_S  # the ledger's 3 s would not outlast a busy batch
    assert local_visibility(720, 1) == 720


def test_an_invocation_reports_its_cpu_time_apart_from_its_wall_time():
    import time

    from infra.local.pollers import Invocation, LocalContext, invoke

    def waits(event, context):
        time.sleep(0.2)

    def works(event, context):
        until = time.process_time() + 0.05
        while time.process_time() < until:
            pass

    waited, worked = Invocation(service="t"), Invocation(service="t")
    invoke(waits, {}, LocalContext("t"), waited)
    invoke(works, {}, LocalContext("t"), worked)
    assert waited.busy_s >= 0.2 and waited.cpu_s < waited.busy_s / 2
    assert worked.cpu_s >= 0.05


def test_an_invocation_reports_the_time_it_waited_for_a_cpu():
    import os
    import subprocess
    import sys
    import time

    import pytest

    from infra.local.pollers import Invocation, LocalContext, cpu_wait_s, invoke

    if not Path("/proc/thread-self/schedstat").exists():
        pytest.skip("the kernel keeps no scheduler statistics here (/proc/thread-self/schedstat)")

    def works(event, context):  # this thread's CPU: the one pinned below
        until = time.thread_time() + 0.1
        while time.thread_time() < until:
            pass

    alone, shared = Invocation(service="t"), Invocation(service="t")
    started = cpu_wait_s()
    invoke(lambda event, context: time.sleep(0.1), {}, LocalContext("t"), alone)
    assert alone.busy_s >= 0.1 and cpu_wait_s() >= started
    # One CPU shared with a process that never sleeps: the handler runs about half the time.
    cpu, affinity = min(os.sched_getaffinity(0)), os.sched_getaffinity(0)
    spinner = subprocess.Popen([sys.executable, "-c", "print('spinning', flush=True)\nwhile True: pass"],
                               stdout=subprocess.PIPE, text=True)
    try:
        os.sched_setaffinity(spinner.pid, {cpu})
        os.sched_setaffinity(0, {cpu})
        assert spinner.stdout and spinner.stdout.readline().strip() == "spinning"
        invoke(works, {}, LocalContext("t"), shared)
    finally:
        os.sched_setaffinity(0, affinity)
        spinner.kill()
        spinner.wait()
    assert shared.cpu_s >= 0.1 and shared.cpu_wait_s >= 0.04
    assert alone.cpu_wait_s < shared.cpu_wait_s  # asleep, it waited for no CPU but to wake


class _Queue:
    """A fake SQS: hands out the messages it holds, as many as asked, and records deletes."""

    def __init__(self, arrivals: list[list[str]]) -> None:
        self.arrivals, self.received, self.deleted = arrivals, [], []

    def receive_message(self, **request):
        self.received.append(request)
        bodies = self.arrivals.pop(0) if self.arrivals else []
        return {"Messages": [{"MessageId": body, "ReceiptHandle": body, "Body": body, "Attributes": {},
                              "MessageAttributes": {}, "MD5OfBody": ""} for body in bodies]}

    def delete_message_batch(self, QueueUrl, Entries):  # noqa: N803 - boto3's names
        self.deleted += [e["ReceiptHandle"] for e in Entries]


def _poller(monkeypatch, queue: _Queue, window_s: float):
    from infra.local import pollers
    from infra.local.provision import QueueSource

    batches: list[list[str]] = []
    monkeypatch.setattr(pollers, "load_handler", lambda name: lambda event, context: batches.append(
        [r["body"] for r in event["Records"]]))
    source = QueueSource(function="f", handler="m.h", queue_url="http://emu/123456789012/q", batch_size=10,
                         max_concurrency=1, service_name="f", batching_window_s=window_s)
    return pollers.QueuePoller(source, queue, wait_s=1), batches


def test_a_batching_window_gathers_what_arrives_within_it_into_one_invocation(monkeypatch):
    queue = _Queue([["a", "b"], ["c", "d", "e"]])
    poller, batches = _poller(monkeypatch, queue, window_s=0.01)
    poller.poll_once()
    assert batches == [["a", "b", "c", "d", "e"]] and queue.deleted == ["a", "b", "c", "d", "e"]
    assert queue.received[1]["MaxNumberOfMessages"] == 8 and queue.received[1]["WaitTimeSeconds"] == 0


def test_without_a_window_a_batch_is_what_one_receive_gave(monkeypatch):
    queue = _Queue([["a", "b"], ["c"]])
    poller, batches = _poller(monkeypatch, queue, window_s=0)
    poller.poll_once()
    assert batches == [["a", "b"]] and len(queue.received) == 1

