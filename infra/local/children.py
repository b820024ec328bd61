"""The local stack's child processes (the emulator, the HTTP API's and the functions' workers) end
with the process that started them: a `kill -9` of the stack leaves no orphan holding a port, a
state folder or a queue."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path


def exit_with_parent(parent_pid: int, on_exit: Callable[[], object], poll_s: float = 0.5) -> threading.Thread:
    """Call `on_exit` (which should end this process) once `parent_pid` is no longer our parent."""

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                on_exit()
                return

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def running(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead and not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(") ", 1)[1][0] not in "ZX"


def exit_with(pid: int, on_exit: Callable[[], object], poll_s: float = 0.5) -> threading.Thread:
    """Call `on_exit` once process `pid` (not necessarily our parent) no longer runs."""

    def watch() -> None:
        while running(pid):
            time.sleep(poll_s)
        on_exit()

    thread = threading.Thread(target=watch, name="runtime-watch", daemon=True)
    thread.start()
    return thread
