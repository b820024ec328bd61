"""The local stack's child processes (the emulator, the HTTP API's workers) end with the process
that started them: a `kill -9` of the stack leaves no orphan holding a port or a state folder."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable


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
