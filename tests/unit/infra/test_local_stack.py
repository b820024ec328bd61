"""The local stack's state folder from the CLI: `reset` wipes what the stack wrote and nothing
else; a stale state file (a crashed stack) is no stack; an orphan pid reused by another process
is never touched."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from infra.cli import local_stack
from infra.cli.main import app
from infra.local.emulator import PID_FILE, recorded_emulator, stop_orphan


def test_reset_wipes_the_stack_files_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setattr(local_stack, "STATE_DIR", local_stack.STATE_DIR)
    monkeypatch.setattr(local_stack, "STATE_FILE", local_stack.STATE_FILE)
    for name in ("emulator.pickle", "emulator-dynamodb-17.pickle", "ports.json", "moto.log"):
        (tmp_path / name).write_text("x")
    (tmp_path / "mine.txt").write_text("a user's file")
    result = CliRunner().invoke(app, ["--state-dir", str(tmp_path), "reset", "--yes"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_a_state_file_of_a_dead_stack_is_no_stack(tmp_path, monkeypatch):
    monkeypatch.setattr(local_stack, "STATE_FILE", tmp_path / "stack.json")
    (tmp_path / "stack.json").write_text(json.dumps({"pid": 2**22 + 12345, "endpoint": "http://x"}))
    try:
        local_stack.read_state()
    except local_stack.NoStack as exc:
        assert "no longer running" in str(exc)
    else:
        raise AssertionError("a dead stack was taken for a running one")
    assert not (tmp_path / "stack.json").exists()


def test_a_pid_file_naming_another_process_is_not_an_orphan_of_ours(tmp_path):
    # This test's own pid runs pytest, not our emulator on this folder: it must not be killed.
    (tmp_path / PID_FILE).write_text(json.dumps({"pid": os.getpid(), "port": 1}))
    assert recorded_emulator(tmp_path) is None
    assert stop_orphan(tmp_path) is False and not (tmp_path / PID_FILE).exists()


def test_the_progress_of_a_run_keeps_its_id_and_counts_whole_in_80_columns(monkeypatch):
    from infra.cli import main

    run_id = "20261203T181712Z-1c94dd01"
    run = {"run_id": run_id, "status": "succeeded", "docs_expected": 32, "docs_settled": 32,
           "counts": {"fetch_stored": 29, "extract_extracted": 20, "extract_needs_ocr": 9, "fetch_failed": 3}}

    def wait(asked, timeout, update):
        update(run)
        return run

    monkeypatch.setattr(main.console, "width", 80)
    with main.console.capture() as shown:
        assert main._watch(wait, run_id, 10, show=True) == run
    text = " ".join(shown.get().split())  # the detail may wrap onto more lines
    assert f"run {run_id}" in text and "32/32" in text and "failed 3" in text


def test_runs_list_refuses_a_limit_under_one_before_looking_for_a_stack():
    result = CliRunner().invoke(app, ["runs", "list", "--limit", "0"])
    assert result.exit_code == 2 and "--limit" in result.output
