"""The operator's commands against a running local stack, from a separate process with a clean
environment, as an operator runs them beside `disclosures up`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.cli.local_stack import STATE_FILE

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _cli(state_dir: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess:
    # No AWS settings inherited: the command must take everything from the stack's state file.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"DISCLOSURES_STATE_DIR": str(state_dir), "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "infra.cli.main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_runs_and_dead_letter_commands_attach_to_the_running_stack(make_stack, mirror_dir, tmp_path):
    stack = make_stack(mirror_dir)
    (tmp_path / STATE_FILE.name).write_text(json.dumps({**stack.describe(), "pid": os.getpid()}))
    run_id = stack.request_run([2025])
    assert stack.wait_for_run(run_id, timeout_s=240)["status"] == "succeeded"

    listed = _cli(tmp_path, "runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout.strip().splitlines()[-1])] == [run_id]

    shown = _cli(tmp_path, "runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    run = json.loads(shown.stdout.strip().splitlines()[-1])
    assert run["status"] == "succeeded"
    # The one run since the stack started: its documents are what the requests are divided by.
    requests = run["aws_requests"]
    assert requests["documents"] == run["docs_settled"] > 0
    assert requests["by_stage"]["fetch"]["per_document"] > 0 and requests["by_stage"]["extract"]["per_document"] > 0

    dead = _cli(tmp_path, "dlq", "list", "--json")
    assert dead.returncode == 0, dead.stderr
    queues = json.loads(dead.stdout.strip().splitlines()[-1])
    assert len(queues) == len(stack.describe()["dead_letter_queues"]) and all(q["depth"] == 0 for q in queues)

    # In a narrow terminal the tables keep whole what the next command takes: run ids, queue names.
    assert run_id in _cli(tmp_path, "runs", "list", columns=60).stdout
    shown_queues = _cli(tmp_path, "dlq", "list", columns=60).stdout
    assert all(q["name"] in shown_queues for q in queues), shown_queues


def test_commands_without_a_stack_say_how_to_start_one(tmp_path):
    result = _cli(tmp_path, "dlq", "list")
    assert result.returncode == 2 and "disclosures up" in result.stdout + result.stderr
