"""Find and talk to a stack started by `disclosures up` (its state file), from another process.

A stack keeps everything in its state folder (`--state-dir`, `DISCLOSURES_STATE_DIR`, default
`.disclosures/state`): `stack.json` (how to reach the running stack), the emulator's saved state
(`emulator.pickle`: buckets, tables, queued messages), the emulator's pid (`emulator.json`), the
ports it keeps (`ports.json`) and the logs. `disclosures reset` wipes them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from infra.local.emulator import Emulator, alive
from infra.local.runtime import LOCAL_ENV
from services.common.config import PROJECT_ROOT

STATE_DIR = Path(os.environ.get("DISCLOSURES_STATE_DIR") or PROJECT_ROOT / ".disclosures" / "state")
STATE_FILE = STATE_DIR / "stack.json"
# What a stack writes in its state folder, and all that `reset` deletes (never the folder's other files).
STATE_FILES = ("stack.json", "stack.tmp", "stack.log", "moto.log", "emulator.pickle", "emulator.tmp", "emulator.json",
               "ports.json", "emulator-*.pickle", "emulator-*.tmp")  # the last two: the shards' parts


def use_state_dir(path: Path) -> None:
    """Operate the stack whose state is in `path` (the `--state-dir` option)."""
    global STATE_DIR, STATE_FILE
    STATE_DIR = Path(path).resolve()
    STATE_FILE = STATE_DIR / "stack.json"


class NoStack(RuntimeError):
    pass


def read_state() -> dict[str, Any]:
    if not STATE_FILE.exists():
        raise NoStack("no local stack is running: start one with `disclosures up`")
    state = json.loads(STATE_FILE.read_text())
    pid = state.get("pid")
    if pid and not alive(pid):
        STATE_FILE.unlink(missing_ok=True)
        raise NoStack(f"the local stack (pid {pid}) is no longer running: start one with `disclosures up`")
    return state




def attach(state: dict[str, Any]) -> None:
    """Configure this process's clients and tables for the stack in `state`."""
    from services.common import aws, config, tables

    os.environ.update(Emulator(endpoint=state["endpoint"]).environment())
    os.environ.update(state["environment"])
    os.environ.update(LOCAL_ENV)
    config.settings.cache_clear()
    aws.reset_clients()
    tables.configure_from_env()


def start_detached(args: list[str], timeout_s: float = 60.0) -> dict[str, Any]:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    STATE_FILE.unlink(missing_ok=True)
    log = open(STATE_DIR / "stack.log", "ab")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.cli.main", "serve", "--state-file", str(STATE_FILE), *args],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True, cwd=PROJECT_ROOT,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if STATE_FILE.exists():
            return json.loads(STATE_FILE.read_text())
        if process.poll() is not None:
            raise RuntimeError(f"the stack exited with {process.returncode}; see {STATE_DIR / 'stack.log'}")
        time.sleep(0.2)
    process.terminate()
    raise TimeoutError(f"the stack did not start within {timeout_s}s; see {STATE_DIR / 'stack.log'}")


def last_source() -> str | None:
    """The source the stack of this state folder ran on last (`up` without --source keeps it)."""
    try:
        return json.loads((STATE_DIR / "ports.json").read_text()).get("source")
    except (OSError, ValueError):
        return None


def reset() -> list[str]:
    """Stop the stack (and an emulator a crash left behind) and delete its saved state."""
    from infra.local.emulator import stop_orphan

    stop()
    stop_orphan(STATE_DIR)
    removed = []
    for pattern in STATE_FILES:
        for path in sorted(STATE_DIR.glob(pattern)):
            path.unlink()
            removed.append(path.name)
    if STATE_DIR.is_dir() and not any(STATE_DIR.iterdir()):
        shutil.rmtree(STATE_DIR)
    return removed


def stop() -> bool:
    try:
        state = read_state()
    except NoStack:
        return False
    os.kill(state["pid"], signal.SIGTERM)
    # The emulator saves its state before it exits: a big state takes a while.
    deadline = time.monotonic() + 180
    while alive(state["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    STATE_FILE.unlink(missing_ok=True)
    return True
