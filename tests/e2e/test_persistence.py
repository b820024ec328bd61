"""The local stack keeps its state: across a restart, and across a crash mid-run (kill -9 of the
stack), after which `up` restarts it cleanly, leaves no orphan and the run finishes with nothing
counted twice and the same Gold as a run nobody interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from infra.local.emulator import recorded_emulator
from infra.local.runtime import LocalRuntime, RuntimeOptions
from infra.local.template import REGION
from tests.e2e.helpers import gold_tables, keys

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
# What differs between two runs of the same data on two stacks: ids, times, the mirror's port.
VOLATILE = {"run_id", "extracted_at", "source_url", "silver_key"}


def comparable(tables: dict[str, list[dict]]) -> dict[str, list[str]]:
    return {name: sorted(json.dumps({k: v for k, v in row.items() if k not in VOLATILE}, default=str, sort_keys=True)
                         for row in rows) for name, rows in tables.items()}


def test_everything_survives_down_and_up(mirror_dir, tmp_path):
    state = tmp_path / "state"
    options = RuntimeOptions(source=str(mirror_dir), state_dir=state, alarms=False, http_port=0)
    with LocalRuntime(options) as stack:
        run_id = stack.request_run([2025])
        assert stack.wait_for_run(run_id, timeout_s=240)["status"] == "succeeded"
        gold = gold_tables(stack.client("s3"), stack.provisioned.environment["GOLD_BUCKET"])
        site = keys(stack, "SITE_BUCKET")
        bronze = keys(stack, "BRONZE_BUCKET")
    assert (state / "emulator.pickle").is_file() and recorded_emulator(state) is None  # saved, and stopped

    with LocalRuntime(RuntimeOptions(source=str(mirror_dir), state_dir=state, alarms=False, http_port=0)) as stack:
        kept = stack.run_item(run_id)
        assert kept["status"] == "succeeded"
        # The request counts start again at zero: `runs show` divides them by documents settled since.
        assert stack.describe()["documents_settled_at_start"] == kept["docs_settled"] > 0
        assert gold_tables(stack.client("s3"), stack.provisioned.environment["GOLD_BUCKET"]) == gold
        assert keys(stack, "SITE_BUCKET") == site and keys(stack, "BRONZE_BUCKET") == bronze
        # The watermarks came back too: the same index again dispatches nothing.
        again = stack.wait_for_run(stack.request_run([2025]), timeout_s=120)
        assert again["status"] == "succeeded" and again.get("docs_expected", 0) == 0, again


def _cli(state_dir: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"DISCLOSURES_STATE_DIR": str(state_dir), "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    return subprocess.run([sys.executable, "-m", "infra.cli.main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def _run_item(state: dict, run_id: str) -> dict:
    ddb = boto3.client("dynamodb", endpoint_url=state["endpoint"], region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106
    item = ddb.get_item(TableName=state["environment"]["LEDGER_TABLE"], Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}},
                        ConsistentRead=True).get("Item", {})
    return {k: TypeDeserializer().deserialize(v) for k, v in item.items()}


def test_a_run_interrupted_by_a_crash_finishes_after_up(make_stack, mirror_dir, tmp_path):
    state_dir = tmp_path / "state"
    started = _cli(state_dir, "up", "--source", str(mirror_dir), "--port", "0")
    assert started.returncode == 0, started.stdout + started.stderr
    state = json.loads((state_dir / "stack.json").read_text())
    try:
        requested = _cli(state_dir, "run", "--years", "2025")
        assert requested.returncode == 0, requested.stderr
        run_id = requested.stdout.strip().splitlines()[-1]
        deadline = time.monotonic() + 120
        progress = {}
        while not (progress.get("docs_expected") and progress.get("docs_settled")) and time.monotonic() < deadline:
            time.sleep(0.05)
            progress = _run_item(state, run_id)
        os.kill(state["pid"], signal.SIGKILL)  # the stack dies mid-run
        # What the last read before the kill saw: the emulator may be gone already (it notices
        # its parent's death at once, saves and exits), so nothing can be read after it.
        at_crash = progress
        assert at_crash["status"] == "running" and int(at_crash["docs_settled"]) < int(at_crash["docs_expected"]), at_crash

        # No orphan: the emulator saw its parent die, saved and exited.
        deadline = time.monotonic() + 60
        while recorded_emulator(state_dir) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert recorded_emulator(state_dir) is None

        restarted = _cli(state_dir, "up", "--source", str(mirror_dir), "--port", "0")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        second = _cli(state_dir, "up", "--source", str(mirror_dir), "--port", "0")
        state = json.loads((state_dir / "stack.json").read_text())
        assert "already up" in second.stdout + second.stderr
        assert f"website   {state['http_url']}/" in second.stdout  # where the running one is
        deadline = time.monotonic() + 240
        while _run_item(state, run_id).get("status") not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(0.5)
        crashed = _run_item(state, run_id)
        s3 = boto3.client("s3", endpoint_url=state["endpoint"], region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106
        crashed_gold = gold_tables(s3, state["environment"]["GOLD_BUCKET"])
    finally:
        _cli(state_dir, "down")
    assert crashed["status"] == "succeeded", crashed
    assert recorded_emulator(state_dir) is None  # `down` stopped the emulator too

    clean_stack = make_stack(mirror_dir)
    clean = clean_stack.wait_for_run(clean_stack.request_run([2025]), timeout_s=240)
    assert clean["status"] == "succeeded"
    # Nothing counted twice: every counter as in the uninterrupted run.
    assert {k: int(v) for k, v in crashed["counts"].items()} == {k: int(v) for k, v in clean["counts"].items()}
    assert int(crashed["docs_settled"]) == int(crashed["docs_expected"]) == int(clean["docs_expected"])
    clean_gold = gold_tables(clean_stack.client("s3"), clean_stack.provisioned.environment["GOLD_BUCKET"])
    assert comparable(crashed_gold) == comparable(clean_gold)

    wiped = _cli(state_dir, "reset", "--yes")
    assert wiped.returncode == 0 and not (state_dir / "emulator.pickle").exists()
