"""Each function in worker processes of its own, as Lambda runs it: only its own environment,
its output read as CloudWatch Logs reads it, and no worker outliving the stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from infra.local.functions import FunctionWorkers, WorkerSpec, worker_environment
from infra.local.pollers import InvocationStats

ROOT = Path(__file__).resolve().parents[2]
PROBE = "function_probe.lambda_handler"


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.put: list[dict[str, Any]] = []

    def put_metric_data(self, **request: Any) -> None:
        self.put.append(request)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"


def wait_for(predicate, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture()
def workers():
    started: list[FunctionWorkers] = []

    def start(*specs: WorkerSpec, cloudwatch: Any = None) -> FunctionWorkers:
        workers = FunctionWorkers(cloudwatch, {})
        workers.start(list(specs))
        started.append(workers)
        return workers

    yield start
    for w in started:
        w.stop()


def test_a_worker_has_only_its_functions_environment(workers, tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGER_DLQ_URL", "the runtime's own, not the function's")
    function_env = {"POWERTOOLS_SERVICE_NAME": "probe", "BRONZE_BUCKET": "bronze"}
    environment = worker_environment(function_env, "stack-probe")
    assert "LEDGER_DLQ_URL" not in environment and environment["PATH"] == os.environ["PATH"]
    pool = workers(WorkerSpec("stack-probe", "probe", PROBE, environment))
    report = tmp_path / "report.json"
    pool.invoke("stack-probe", {"report": str(report)})
    wait_for(report.exists)
    seen = json.loads(report.read_text())
    assert seen["pid"] != os.getpid() and seen["function"] == "stack-probe"
    assert seen["environment"] == environment and seen["nice"] == os.nice(0)
    assert seen["shared_loader"], "the worker's botocore sessions do not share the fork server's loader"


def test_a_worker_may_run_at_a_lower_cpu_priority(workers, tmp_path):
    pool = workers(WorkerSpec("stack-probe", "probe", PROBE, worker_environment({}, "stack-probe"), nice=5))
    report = tmp_path / "report.json"
    pool.invoke("stack-probe", {"report": str(report)})
    wait_for(report.exists)
    assert json.loads(report.read_text())["nice"] == os.nice(0) + 5


def test_output_becomes_metrics_and_log_lines_and_errors_are_counted(workers, tmp_path, capsys):
    cloudwatch = RecordingCloudWatch()
    pool = workers(WorkerSpec("stack-probe", "probe", PROBE, worker_environment({}, "stack-probe")),
                   cloudwatch=cloudwatch)
    pool.invoke("stack-probe", {"report": str(tmp_path / "1.json"), "metric": True})
    pool.invoke("stack-probe", {"report": str(tmp_path / "2.json"), "fail": True})
    stats: InvocationStats = pool.stats["probe"]
    wait_for(lambda: stats.invocations == 2)
    assert stats.errors == 1 and "the probe failed as asked" in stats.last_error
    [put] = cloudwatch.put
    assert put["Namespace"] == "Probe" and put["MetricData"][0]["MetricName"] == "Probed"
    assert put["MetricData"][0]["Dimensions"] == [{"Name": "service", "Value": "probe"}]
    assert capsys.readouterr().out.count("a log line") == 2  # the rest of the output: the stack log


class BlockingCloudWatch(RecordingCloudWatch):
    """Holds the first PutMetricData until released, as a busy emulator would."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def put_metric_data(self, **request: Any) -> None:
        if not self.put:
            self.entered.set()
            self.release.wait(20)
        super().put_metric_data(**request)


def test_invocations_that_end_meanwhile_share_one_put_metric_data(workers, tmp_path):
    cloudwatch = BlockingCloudWatch()
    pool = workers(WorkerSpec("stack-probe", "probe", PROBE, worker_environment({}, "stack-probe")),
                   cloudwatch=cloudwatch)
    pool.invoke("stack-probe", {"report": str(tmp_path / "0.json"), "metric": True})
    assert cloudwatch.entered.wait(20)
    for n in range(1, 4):
        pool.invoke("stack-probe", {"report": str(tmp_path / f"{n}.json"), "metric": True})
    wait_for(lambda: pool.outbox.qsize() == 3)  # the first is being put; three more have ended
    cloudwatch.release.set()
    wait_for(lambda: len(cloudwatch.put) == 2)
    assert [len(put["MetricData"]) for put in cloudwatch.put] == [1, 3]
    assert pool.stats["probe"].invocations == 4


def test_every_worker_stops_with_the_runtime(workers, tmp_path):
    specs = [WorkerSpec(f"stack-probe-{n}", "probe", PROBE, worker_environment({}, f"stack-probe-{n}")) for n in range(3)]
    pool = workers(*specs)
    pids = [process.pid for _, process in pool.processes]
    assert len(set(pids)) == 3 and all(alive(pid) for pid in pids)
    pool.stop()
    assert not any(alive(pid) for pid in pids) and pool.alive() == {f"stack-probe-{n}": 0 for n in range(3)}


def test_workers_exit_when_the_runtime_is_killed(tmp_path):
    """kill -9 of the process that started them: they exit on their own, none is left behind."""
    script = tmp_path / "host.py"
    script.write_text(
        "import json, time\n"
        "from infra.local.functions import FunctionWorkers, WorkerSpec, worker_environment\n"
        "if __name__ == '__main__':\n"
        "    pool = FunctionWorkers(None, {})\n"
        f"    pool.start([WorkerSpec('f', 'probe', {PROBE!r}, worker_environment({{}}, 'f')) for _ in range(2)])\n"
        "    print(json.dumps([p.pid for _, p in pool.processes]), flush=True)\n"
        "    time.sleep(600)\n"
    )
    host = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests' / 'support'}"})
    try:
        pids = json.loads(host.stdout.readline())
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        server = int(Path(f"/proc/{pids[0]}/stat").read_text().rsplit(") ", 1)[1].split()[1])  # the fork server
        assert server != host.pid and alive(server)
    finally:
        host.kill()
        host.wait()
        host.stdout.close()
    wait_for(lambda: not any(alive(pid) for pid in [*pids, server]), timeout_s=10)
