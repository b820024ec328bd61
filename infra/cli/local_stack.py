"""Find and talk to a stack started by `disclosures up` (its state file), from another process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from infra.local.emulator import aws_environment
from infra.local.runtime import LOCAL_ENV
from services.common.config import PROJECT_ROOT

STATE_DIR = Path(os.environ.get("DISCLOSURES_STATE_DIR", PROJECT_ROOT / ".disclosures"))
STATE_FILE = STATE_DIR / "stack.json"


class NoStack(RuntimeError):
    pass


def read_state() -> dict[str, Any]:
    if not STATE_FILE.exists():
        raise NoStack("no local stack is running: start one with `disclosures up`")
    state = json.loads(STATE_FILE.read_text())
    pid = state.get("pid")
    if pid and not _alive(pid):
        STATE_FILE.unlink(missing_ok=True)
        raise NoStack(f"the local stack (pid {pid}) is no longer running: start one with `disclosures up`")
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def attach(state: dict[str, Any]) -> None:
    """Configure this process's clients and tables for the stack in `state`."""
    from services.common import aws, config, tables

    os.environ.update(aws_environment(state["endpoint"]))
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


def stop() -> bool:
    try:
        state = read_state()
    except NoStack:
        return False
    os.kill(state["pid"], signal.SIGTERM)
    for _ in range(100):
        if not _alive(state["pid"]):
            break
        time.sleep(0.1)
    STATE_FILE.unlink(missing_ok=True)
    return True
