"""Which function made a request: every AWS request of this process names its caller in a header
the emulator counts by (`x-local-caller`): the function a poller is invoking on this thread, else
this process's caller (a function's worker), else its Lambda function name, else `runtime`
(provisioning, the scheduler, the CLI)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CALLER_HEADER = "x-local-caller"
_current = threading.local()
_process: dict[str, str] = {}


def _tag(request: Any, **_: Any) -> None:
    request.headers[CALLER_HEADER] = (getattr(_current, "name", None) or _process.get("name")
                                      or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "runtime")


def install(process_caller: str | None = None) -> None:
    """Tag the requests of every botocore session (boto3's, pynamodb's), present and future;
    `process_caller` names this process's requests on threads not `calling_as` anyone (a
    function's worker: its handler's own threads)."""
    if process_caller:
        _process["name"] = process_caller
    import boto3
    from botocore import handlers

    if ("before-send", _tag) not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append(("before-send", _tag))  # registered by each new session
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION.events.unregister("before-send", _tag)
        boto3.DEFAULT_SESSION.events.register("before-send", _tag)


@contextmanager
def calling_as(name: str) -> Iterator[None]:
    previous = getattr(_current, "name", None)
    _current.name = name
    try:
        yield
    finally:
        _current.name = previous


def by_caller(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The emulator's counted requests ({caller, service, action, count} rows) as
    {caller: {"service.Action": count}}, busiest first."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        actions = out.setdefault(row["caller"], {})
        name = f"{row['service']}.{row['action']}"
        actions[name] = actions.get(name, 0) + int(row["count"])
    return {caller: dict(sorted(actions.items(), key=lambda kv: -kv[1]))
            for caller, actions in sorted(out.items(), key=lambda kv: -sum(kv[1].values()))}
