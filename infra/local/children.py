"""The local stack's child processes (the emulator, the HTTP API's and the functions' workers) end
with the process that started them: a `kill -9` of the stack leaves no orphan holding a port, a
state folder or a queue."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path


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
    """Call `on_exit` (which should end this process) once process `pid` no longer runs: our
    parent, or for a function's worker the runtime (its parent is the fork server)."""

    def watch() -> None:
        while running(pid):
            time.sleep(poll_s)
        on_exit()

    thread = threading.Thread(target=watch, name="exit-watch", daemon=True)
    thread.start()
    return thread
