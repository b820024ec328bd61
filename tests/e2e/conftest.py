from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.local.runtime import LocalRuntime, RuntimeOptions


@pytest.fixture
def make_stack(emulator) -> Iterator[Callable[..., LocalRuntime]]:
    """Start the local runtime on a freshly reset emulator; stopped at the end of the test."""
    started: list[LocalRuntime] = []

    def start(source: Path | str, pollers: bool = True, **options) -> LocalRuntime:
        emulator.reset()
        runtime = LocalRuntime(RuntimeOptions(source=str(source), endpoint=emulator.endpoint, **options))
        runtime.start(pollers=pollers)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.stop()
