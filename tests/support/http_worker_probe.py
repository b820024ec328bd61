"""Worker bodies for the HTTP workers' tests: one that dies before it is ready, one that never is."""

from __future__ import annotations

import time


def exits(*_: object) -> None:
    raise SystemExit(1)


def hangs(*_: object) -> None:
    time.sleep(60)
