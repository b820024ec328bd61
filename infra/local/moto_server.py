"""moto in server mode, as the local runtime needs it: persistent, counted, and safe.

- **Persistent** (`--state-dir`): moto keeps everything in memory. Here its backends of the
  services the template uses are pickled to `<state-dir>/emulator.pickle` (written whole, then
  renamed, so a crash leaves the previous snapshot intact), taken under the request lock so a
  snapshot is one consistent moment of every bucket, table and queue. It is taken a moment after
  a change (at most every `SNAPSHOT_MIN_S`, and never more often than ten times its own cost, so
  a big state costs the emulator at most a tenth of its time), on SIGTERM, and when the process
  that started it dies (no orphan: the emulator saves and exits). At start the snapshot is loaded
  back and every message that was in flight is made visible again: whoever received it died with
  the stack, so it is delivered again, as SQS does once a visibility timeout runs out.
- **Counted**: every request is counted per caller (the `x-local-caller` header the runtime's
  clients send: the function's name), service and action; `GET /_local/requests` answers them.
- **Safe**: see `RequestGate` for what may run concurrently and why.
- **Long polls**: a ReceiveMessage with WaitTimeSeconds waits outside moto (`LocalApp._long_poll`),
  so an idle consumer costs one request per wait, not one every fraction of a second.
- **Light DynamoDB transactions**: moto's TransactWriteItems deep-copies every table it touches
  to roll back on failure; with the ledger's one transaction per event that is quadratic, and a
  full-year load ran the emulator out of memory. Here only the items a transaction names are
  saved and restored.

Each patch of moto's internals has a canary test (tests/unit/infra/test_moto_server.py) and
pyproject pins moto below its next minor release.
"""

from __future__ import annotations

import argparse
import copy
import functools
import http.client
import io
import json
import logging
import os
import pickle
import selectors
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from infra.local.callers import CALLER_HEADER
from infra.local.children import exit_with
from infra.local.emulator import PID_FILE

PERSISTED_SERVICES = ("s3", "sqs", "sns", "dynamodb", "cloudwatch", "events")
# Served by a moto process of its own (see `Shards`): moto touches no other service's state from
# DynamoDB's requests, and DynamoDB was 40% of the one process's CPU under a full-year load.
SHARDED_SERVICES = ("dynamodb",)
SNAPSHOT_FILE = "emulator.pickle"
SHARD_FILE = "emulator-{service}-{generation}.pickle"  # a shard's part of the snapshot the main file names
SNAPSHOT_FORMAT = 1
SNAPSHOT_MIN_S = 2.0
LONG_POLL_MAX_S = 20.0  # SQS's own limit on WaitTimeSeconds
LONG_POLL_RECHECK_S = 1.0
_READ_PREFIXES = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "Head")


# --------------------------------------------------------------------------- what a request is
def _credential_scope(environ: dict[str, Any]) -> list[str]:
    """`Credential=KEY/DATE/REGION/SERVICE/aws4_request` of the request's signature, split."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    marker = auth.find("Credential=")
    return auth[marker + len("Credential="):].split(",", 1)[0].split("/") if marker >= 0 else []


def request_service(environ: dict[str, Any]) -> str:
    parts = _credential_scope(environ)
    return parts[3] if len(parts) > 3 else "unknown"


def request_region(environ: dict[str, Any]) -> str | None:
    parts = _credential_scope(environ)
    return parts[2] if len(parts) > 3 else None


def request_action(environ: dict[str, Any], service: str) -> str:
    """The API action: from X-Amz-Target (JSON protocols), the path (RPC v2), the form (query
    protocol; the body is read and put back), or the method and path shape (S3's REST)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    path = environ.get("PATH_INFO", "")
    if "/operation/" in path:
        return path.rsplit("/", 1)[-1]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = _read_body(environ)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    if service == "s3":
        return s3_action(environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""),
                         bool(environ.get("HTTP_X_AMZ_COPY_SOURCE")))
    query = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    return query[0] if query else environ["REQUEST_METHOD"]


def s3_action(method: str, path: str, query: str, copy: bool) -> str:
    """S3's REST calls by method and path shape (path-style addressing: /bucket/key)."""
    has_key = len(path.strip("/").split("/", 1)) > 1
    sub = sorted(k for k in parse_qs(query, keep_blank_values=True) if k not in ("x-id", "versionId", "partNumber"))
    if has_key:
        if copy and method == "PUT":
            return "CopyObject"
        return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject",
                "POST": "PostObject"}.get(method, method) + ("" if not sub else f"?{sub[0]}")
    if method == "GET" and ("list-type" in sub or not sub):
        return "ListObjectsV2" if "list-type" in sub else "ListObjects"
    if method == "GET" and "versions" in sub:
        return "ListObjectVersions"
    if method == "POST" and "delete" in sub:
        return "DeleteObjects"
    return f"{method} bucket" + ("" if not sub else f"?{sub[0]}")


def mutates(method: str, action: str, response: bytes) -> bool:
    """Whether a request may have changed the emulator's state (what makes a snapshot due)."""
    if method in ("GET", "HEAD") or action.startswith(_READ_PREFIXES) or action.startswith("GetObject"):
        return False
    if action == "ReceiveMessage":  # hands out receipts and moves visibility only when it returns messages
        return b"ReceiptHandle" in response
    return True


# --------------------------------------------------------------------------- concurrency
class RequestGate:
    """Which requests may run together, and a way to stop them all (for a snapshot).

    moto's SQS is not safe under concurrent mutation: `Queue.delete_message` rebuilds
    `queue._messages` from a copy while `Queue.add_message` (an SNS delivery, a SendMessage, an S3
    event notification) appends to the old list, and `receive_messages` walks the list meanwhile;
    a message appended in between is lost. So SQS, SNS and every S3 write (it may notify a queue)
    share one lock. moto's DynamoDB iterates a table's item dict for a Query or Scan while a write
    may resize it: DynamoDB has its own lock. CloudWatch and EventBridge share a third. Only S3
    object reads (a dict lookup, then the object's own lock) run without one: they run beside all
    the rest. A snapshot holds the gate exclusively, so it sees one consistent moment.
    """

    def __init__(self) -> None:
        self._state = threading.Condition()
        self._active = 0
        self._exclusive = False
        self.locks = {"messaging": threading.Lock(), "dynamodb": threading.Lock(), "other": threading.Lock()}

    def lock_for(self, service: str, action: str) -> threading.Lock | None:
        if service == "s3" and action.startswith(("GetObject", "HeadObject")):
            return None
        if service in ("sqs", "sns", "s3"):
            return self.locks["messaging"]
        if service == "dynamodb":
            return self.locks["dynamodb"]
        return self.locks["other"]

    def enter(self) -> None:
        with self._state:
            while self._exclusive:
                self._state.wait()
            self._active += 1

    def leave(self) -> None:
        with self._state:
            self._active -= 1
            if not self._active:
                self._state.notify_all()

    def exclusive(self) -> _Exclusive:
        return _Exclusive(self)


class _Exclusive:
    def __init__(self, gate: RequestGate) -> None:
        self.gate = gate

    def __enter__(self) -> None:
        with self.gate._state:
            while self.gate._exclusive:
                self.gate._state.wait()
            self.gate._exclusive = True
            while self.gate._active:
                self.gate._state.wait()

    def __exit__(self, *exc: object) -> None:
        with self.gate._state:
            self.gate._exclusive = False
            self.gate._state.notify_all()


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request's whole body, read now and put back in memory for whoever reads it next."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's stream ends with the body
        body = stream.read()
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = stream.read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


@dataclass
class _Poll:
    """The long polls of one queue: how many wait, and how many times a write found a message."""

    ready: threading.Condition
    waiting: int = 0
    arrivals: int = 0


def _queue_key(environ: dict[str, Any], queue_url: str) -> tuple[str, str, str] | None:
    parts = queue_url.rstrip("/").split("/")
    region = request_region(environ)
    if len(parts) < 2 or region is None:
        return None
    return parts[-2], region, parts[-1]


def _has_visible(account: str, region: str, name: str) -> bool:
    """Whether the queue holds a message a receive would give now (moto's state: the caller holds
    the queues' lock), stopping at the first."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account][region].queues.get(name)
    return queue is None or any(m.visible and not m.delayed for m in queue._messages)


class LocalApp:
    """moto's WSGI app behind the gate, counting requests, marking the state dirty, and serving
    SQS long polls (see `_long_poll`)."""

    def __init__(self, app: Any, persistence: Persistence | None = None, shards: Shards | None = None) -> None:
        self.app = app
        self.gate = RequestGate()
        self.persistence = persistence
        self.shards = shards
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self._counts_lock = threading.Lock()
        # The long polls waiting, by queue (`_long_poll`), under one lock.
        self._polls_lock = threading.Lock()
        self._polls: dict[tuple[str, str, str], _Poll] = {}
        self._wakes = 0  # `POST /_local/wake`: every long poll answers now (a stopping runtime's)

    def __call__(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        _read_body(environ)  # all of it, whatever moto reads: the connection stays open (`_keep_alive`)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_local/"):
            return self._local(environ, start_response)
        service = request_service(environ)
        if self.shards and service in self.shards.endpoints:
            # A client that was not told the shard's address: its shard answers (and counts it).
            status, headers, body = self.shards.proxy(service, environ)
            start_response(status, headers)
            return body
        if self.shards and path == "/moto-api/reset":
            self.shards.broadcast("POST", "/moto-api/reset")
        action = request_action(environ, service)
        caller = environ.get("HTTP_" + CALLER_HEADER.upper().replace("-", "_"), "other")
        with self._counts_lock:
            self.counts[(caller, service, action)] += 1
        if service == "sqs" and action == "ReceiveMessage" and environ.get("HTTP_X_AMZ_TARGET"):
            status, headers, body = self._long_poll(environ)
        else:
            status, headers, body = self._dispatch(environ, service, action)
        start_response(status, headers)
        return body

    def _dispatch(self, environ: dict, service: str, action: str) -> tuple[str, list, list[bytes]]:
        """One request through moto, under its lock; (status, headers, body)."""
        response: list[Any] = []

        def capture(status: str, headers: list, exc_info: Any = None) -> Any:
            response[:] = [status, headers]
            return lambda data: None

        method = environ["REQUEST_METHOD"]
        lock = self.gate.lock_for(service, action)
        self.gate.enter()
        try:
            if lock is None:
                body = list(self.app(environ, capture))
            else:
                with lock:
                    body = list(self.app(environ, capture))  # drain inside: moto may build it lazily
        finally:
            self.gate.leave()
        if mutates(method, action, b"".join(body)):
            if self.persistence:
                self.persistence.dirty = True
            if lock is self.gate.locks["messaging"]:
                self._wake_polls_with_messages()
        return response[0], response[1], body

    def _wake_polls_with_messages(self) -> None:
        """After a write that may have put a message on a queue (an SQS send, an SNS publish, an
        S3 event): wake the long polls of each waiting queue that now has one to give, and only
        those (waking every poll to look again made each write cost a dozen lock-takers)."""
        with self._polls_lock:
            waiting = [key for key, poll in self._polls.items() if poll.waiting]
        if not waiting:
            return
        with self.gate.locks["messaging"]:
            ready = [key for key in waiting if _has_visible(*key)]
        with self._polls_lock:
            for key in ready:
                poll = self._polls[key]
                poll.arrivals += 1
                poll.ready.notify_all()

    def _long_poll(self, environ: dict) -> tuple[str, list, list[bytes]]:
        """ReceiveMessage with WaitTimeSeconds, as SQS answers it: at once when a message is there,
        else when one arrives or the wait ends. moto would wait inside the request, holding the
        queues' lock (every other SQS, SNS and S3 write would wait too); here the request goes to
        moto with no wait, and again once the queue has a message to give: told by the write that
        put it there, or seen every `LONG_POLL_RECHECK_S` (a visibility timeout that ran out
        makes a message visible with no write)."""
        request = json.loads(_read_body(environ) or b"{}")
        wait_s = min(float(request.get("WaitTimeSeconds") or 0), LONG_POLL_MAX_S)
        body = json.dumps({**request, "WaitTimeSeconds": 0}).encode()
        attempt = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        key = _queue_key(environ, str(request.get("QueueUrl", "")))
        if key is None:
            return self._dispatch(attempt, "sqs", "ReceiveMessage")  # moto answers what is wrong
        deadline = time.monotonic() + wait_s
        with self._polls_lock:
            wakes = self._wakes
            poll = self._polls.setdefault(key, _Poll(threading.Condition(self._polls_lock)))
            poll.waiting += 1  # before the first receive: a message sent after it wakes this poll
        try:
            while True:
                with self._polls_lock:
                    seen = poll.arrivals
                attempt["wsgi.input"] = io.BytesIO(body)
                status, headers, out = self._dispatch(attempt, "sqs", "ReceiveMessage")
                if not status.startswith("200") or b"ReceiptHandle" in b"".join(out):
                    return status, headers, out
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return status, headers, out
                    with self._polls_lock:
                        poll.ready.wait_for(lambda seen=seen: poll.arrivals != seen or self._wakes != wakes,
                                            timeout=min(left, LONG_POLL_RECHECK_S))
                        told, seen = poll.arrivals != seen, poll.arrivals
                        if self._wakes != wakes:
                            return status, headers, out
                    if told:
                        break
                    with self.gate.locks["messaging"]:
                        if _has_visible(*key):
                            break
        finally:
            with self._polls_lock:
                poll.waiting -= 1

    def _local(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path == "/_local/requests" and method == "GET":
            with self._counts_lock:
                rows = [{"caller": c, "service": s, "action": a, "count": n} for (c, s, a), n in sorted(self.counts.items())]
            return _json(start_response, rows + (self.shards.requests() if self.shards else []))
        if path == "/_local/requests" and method == "DELETE":
            with self._counts_lock:
                self.counts.clear()
            if self.shards:
                self.shards.broadcast("DELETE", "/_local/requests")
            return _json(start_response, {"reset": True})
        if path == "/_local/shards" and method == "GET":
            return _json(start_response, self.shards.describe() if self.shards else {})
        if path == "/_local/wake" and method == "POST":
            with self._polls_lock:
                self._wakes += 1
                for poll in self._polls.values():
                    poll.ready.notify_all()
            return _json(start_response, {"woken": True})
        if path == "/_local/dirty" and method == "GET":
            return _json(start_response, {"dirty": bool(self.persistence and self.persistence.dirty)})
        if path == "/_local/snapshot" and method == "POST" and self.persistence:
            generation = parse_qs(environ.get("QUERY_STRING", "")).get("generation")
            try:
                if generation:  # a shard's part of the main process's snapshot
                    return _json(start_response, {"seconds": self.persistence.save_part(self.gate, int(generation[0]))})
                return _json(start_response, {"seconds": self.persistence.save(self.gate)})
            except OSError as exc:  # a full disk, a shard gone: the previous snapshot stays
                return _json(start_response, {"error": f"snapshot failed: {exc!r}"}, "503 Service Unavailable")
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error": "unknown local endpoint"}']


def _json(start_response: Any, value: Any, status: str = "200 OK") -> list[bytes]:
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(value).encode()]


# --------------------------------------------------------------------------- persistence
def _picklable_queues() -> None:
    """moto's SQS Queue holds a threading.Condition, which pickle refuses: leave it out, make a new one."""
    from moto.sqs.models import Queue

    def getstate(self: Any) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_messages_lock", None)
        return state

    def setstate(self: Any, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._messages_lock = threading.Condition()

    Queue.__getstate__ = getstate  # type: ignore[attr-defined]
    Queue.__setstate__ = setstate  # type: ignore[attr-defined]


def snapshot_bytes(services: Iterable[str] = PERSISTED_SERVICES, shards: dict[str, int] | None = None) -> bytes:
    """This process's moto backends of `services`, pickled; `shards` names the generation of each
    sharded service's part, saved by its own process at the same moment."""
    import moto
    from moto.backends import get_backend

    backends = {name: {account: dict(regions) for account, regions in get_backend(name).items()}  # type: ignore[arg-type]
                for name in services}
    # S3 finds a bucket's owner in a table beside the backends (moto.s3.models.S3BackendDict).
    bucket_accounts = dict(get_backend("s3").bucket_accounts) if "s3" in backends else {}  # type: ignore[attr-defined]
    return pickle.dumps({"format": SNAPSHOT_FORMAT, "moto": moto.__version__, "taken_at": time.time(),
                         "backends": backends, "s3_bucket_accounts": bucket_accounts, "shards": shards or {}},
                        protocol=pickle.HIGHEST_PROTOCOL)


class SnapshotMismatch(RuntimeError):
    pass


def read_snapshot(data: bytes) -> dict[str, Any]:
    import moto

    state = pickle.loads(data)  # noqa: S301 - our own file, in the stack's own state folder
    if state.get("format") != SNAPSHOT_FORMAT or state.get("moto") != moto.__version__:
        raise SnapshotMismatch(f"the saved state was written by moto {state.get('moto')} (format {state.get('format')}); "
                               f"this is moto {moto.__version__}: `disclosures reset` starts afresh")
    return state


def restore_state(state: dict[str, Any], services: Iterable[str] = PERSISTED_SERVICES) -> int:
    """Load the backends of `services` a snapshot holds into this process's moto; returns the
    messages made visible again."""
    from moto.backends import get_backend

    wanted = set(services)
    for name, accounts in state["backends"].items():
        if name not in wanted:
            continue
        backend_dict = get_backend(name)  # type: ignore[arg-type]
        for account, regions in accounts.items():
            per_account = backend_dict[account]
            for region, backend in regions.items():
                dict.__setitem__(per_account, region, backend)
    if "s3" in wanted:
        get_backend("s3").bucket_accounts.update(state["s3_bucket_accounts"])  # type: ignore[attr-defined]
    return release_in_flight() if "sqs" in wanted else 0


def release_in_flight() -> int:
    """Every received, undeleted message becomes visible: its receiver died with the stack."""
    from moto.backends import get_backend

    released = 0
    for regions in get_backend("sqs").values():
        for backend in regions.values():
            for queue in backend.queues.values():
                for message in queue._messages:
                    if not message.visible:
                        message.visible_at = 0.0
                        released += 1
                queue._pending_messages = set()
    return released


def shard_file(service: str, generation: int | str) -> str:
    return SHARD_FILE.format(service=service, generation=generation)


class Persistence:
    """One moto process's part of the saved state, in `state_dir`.

    The main process's file is the commit point: it is written last and names the generation of
    each shard's part, written by the shard just before under the main process's exclusive gate
    (so both parts are one moment: no request ran on the main process between them, and a client's
    requests run one after another). A crash between the two writes leaves the previous main file
    naming the previous parts, which are deleted only once a newer main file is in place."""

    def __init__(self, state_dir: Path, services: tuple[str, ...] = PERSISTED_SERVICES,
                 shards: Shards | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / SNAPSHOT_FILE
        self.services = services
        self.shards = shards
        self.dirty = False
        self.last_cost_s = 0.0
        self.last_saved = 0.0
        self._save_lock = threading.Lock()

    def read(self) -> dict[str, Any] | None:
        return read_snapshot(self.path.read_bytes()) if self.path.exists() else None

    def shard_sources(self, state: dict[str, Any] | None) -> dict[str, Path]:
        """Where each shard's saved part is: the file the snapshot names, or the snapshot itself
        when it was written before that service had a process of its own."""
        sources = {}
        for service in self.shards.services if self.shards else ():
            if state and service in state.get("shards", {}):
                sources[service] = self.state_dir / shard_file(service, state["shards"][service])
            elif state and service in state["backends"]:
                sources[service] = self.path
        return sources

    def save(self, gate: RequestGate, only_if_due: bool = False) -> float:
        """Take a consistent snapshot (the shards' parts first) and write it atomically; returns
        what it cost in seconds. A shard that cannot save its part fails the whole snapshot: the
        previous one stays whole. `only_if_due`: the periodic save, which asks whether one is due
        only once it holds the lock (a snapshot asked for meanwhile may have taken the changes)."""
        with self._save_lock:
            if only_if_due and not self.due():
                return 0.0
            started = time.monotonic()
            generation = time.time_ns()
            with gate.exclusive():
                if self.shards:
                    self.shards.snapshot(generation)
                self.dirty = False
                data = snapshot_bytes(self.services, {s: generation for s in self.shards.services} if self.shards else {})
            self._write(self.path, data)
            if self.shards:
                for service in self.shards.services:
                    for old in self.state_dir.glob(shard_file(service, "*")):
                        if old.name != shard_file(service, generation):
                            old.unlink(missing_ok=True)
            self.last_cost_s = time.monotonic() - started
            self.last_saved = time.monotonic()
            return self.last_cost_s

    def save_part(self, gate: RequestGate, generation: int) -> float:
        """A shard's part of the main process's snapshot `generation`."""
        with self._save_lock:
            started = time.monotonic()
            with gate.exclusive():
                self.dirty = False
                data = snapshot_bytes(self.services)
            self._write(self.state_dir / shard_file(self.services[0], generation), data)
            return time.monotonic() - started

    def _write(self, path: Path, data: bytes) -> None:
        tmp = path.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.replace(path)
            _fsync_dir(self.state_dir)
        except OSError:
            self.dirty = True
            raise

    def due(self) -> bool:
        interval = max(SNAPSHOT_MIN_S, 10 * self.last_cost_s)
        if time.monotonic() - self.last_saved < interval:
            return False
        return self.dirty or bool(self.shards and self.shards.dirty())

    def run(self, gate: RequestGate, stop: threading.Event) -> None:
        while not stop.wait(0.5):
            try:
                self.save(gate, only_if_due=True)
            except OSError as exc:  # a full disk, a shard gone: keep serving, say so, try again later
                print(f"snapshot failed: {exc}", flush=True)


class Shards:
    """The services answered by moto processes of their own (`SHARDED_SERVICES`), started and
    owned by the main one: each runs on a CPU of its own, and a client sends a sharded service's
    requests straight to its shard (`GET /_local/shards` names them; the runtime puts them in
    `AWS_ENDPOINT_URL_<SERVICE>`). A client that was not told is served through the main process.
    A shard saves only when the main process asks (its part of one snapshot) and exits, without
    saving, when the main process is gone."""

    def __init__(self, services: tuple[str, ...] = SHARDED_SERVICES) -> None:
        self.services = services
        self.endpoints: dict[str, str] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, host: str, state_dir: Path | None, sources: dict[str, Path]) -> None:
        from infra.local.emulator import Emulator, free_port

        for service in self.services:
            port = free_port()
            command = [sys.executable, "-m", "infra.local.moto_server", "--host", host, "--port", str(port),
                       "--serve", service, "--parent-pid", str(os.getpid())]
            if state_dir is not None:
                command += ["--state-dir", str(state_dir)]
            if service in sources:
                command += ["--restore", str(sources[service])]
            self.processes[service] = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2])
            self.endpoints[service] = f"http://{host}:{port}"
        for service, endpoint in self.endpoints.items():
            Emulator(endpoint=endpoint, process=self.processes[service]).wait_ready(timeout=300.0)

    @staticmethod
    def _call(endpoint: str, method: str, path: str, timeout: float = 600) -> Any:
        request = urllib.request.Request(endpoint + path, method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own shard
            return json.loads(response.read() or b"null")

    def describe(self) -> dict[str, dict[str, Any]]:
        return {s: {"endpoint": e, "pid": self.processes[s].pid} for s, e in self.endpoints.items()}

    def snapshot(self, generation: int) -> None:
        for endpoint in self.endpoints.values():
            self._call(endpoint, "POST", f"/_local/snapshot?generation={generation}")

    def dirty(self) -> bool:
        return any(self._call(e, "GET", "/_local/dirty", timeout=10)["dirty"] for e in self.endpoints.values())

    def requests(self) -> list[dict[str, Any]]:
        return [row for e in self.endpoints.values() for row in self._call(e, "GET", "/_local/requests", timeout=10)]

    def broadcast(self, method: str, path: str) -> None:
        for endpoint in self.endpoints.values():
            self._call(endpoint, method, path, timeout=60)

    def proxy(self, service: str, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        target = urllib.parse.urlsplit(self.endpoints[service])
        body = _read_body(environ) or None
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        path = environ.get("REQUEST_URI") or environ.get("RAW_URI") or urllib.parse.quote(environ.get("PATH_INFO", "/"))
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
        try:
            connection.request(environ["REQUEST_METHOD"], path, body, headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in ("connection", "transfer-encoding", "keep-alive")]
        return f"{response.status} {response.reason}", kept, [data]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- DynamoDB transactions
def _item_key(table: Any, attrs: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(attrs[table.hash_key_attr])
    range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _light_transactions() -> None:
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    class _NoTableCopy:
        """moto's `copy` for that module: tables are not copied (their items are saved below)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = _NoTableCopy()
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            attrs = op.get("Key") or op.get("Item")
            if table is None or not attrs:
                continue
            hash_value, range_value = _item_key(table, attrs)
            current = table.items.get(hash_value)
            current = current.get(range_value) if range_value is not None and current is not None else current
            saved.append((table, hash_value, range_value, copy.deepcopy(current)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(saved):
                if range_value is None:
                    if item is None:
                        table.items.pop(hash_value, None)
                    else:
                        table.items[hash_value] = item
                elif item is None:
                    table.items.get(hash_value, {}).pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = item
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items


def _parsed_expressions_once() -> None:
    """moto parses an UpdateItem's UpdateExpression twice (to validate the request, then to apply
    it) and lexes every ConditionExpression, from scratch each time; a pipeline sends the same
    few expression strings over and over (its values travel apart). Parsing was a quarter of the
    DynamoDB process's CPU under a full-year load. Here each string is parsed once. Safe because
    moto validates and applies a deep copy of the parsed tree, and lexed nodes are tuples."""
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    make = functools.lru_cache(maxsize=1024)(functools.partial(UpdateExpressionParser.make.__func__, UpdateExpressionParser))
    UpdateExpressionParser.make = classmethod(lambda cls, expression: make(expression))  # type: ignore[method-assign,assignment]

    lex = ConditionExpressionParser._lex_condition_expression

    @functools.lru_cache(maxsize=1024)
    def lexed(expression: str) -> tuple[Any, ...]:
        return tuple(lex(ConditionExpressionParser(expression, {}, {})))  # lexing reads the string only

    def lex_once(self: Any) -> deque[Any]:
        return deque(lexed(self.condition_expression))

    ConditionExpressionParser._lex_condition_expression = lex_once  # type: ignore[method-assign]


def _traversed_types_once() -> None:
    """moto's update-expression traversal asks each processor, at every node of the tree, which
    node types it processes (each answer built the processor's whole map of bound methods anew)
    and whether the node is one of them (`isinstance` over abstract classes): a fifth of the
    DynamoDB process's CPU under a full-year load. The types are each processor class's own
    constants, so here each processor class decides once per node class whether it processes it,
    and with which entry of its map (the first that matches, as moto's `process` picks)."""
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node

    decisions: dict[tuple[type, type], tuple[bool, type | None]] = {}

    def decide(processor: Any, cls: type) -> tuple[bool, type | None]:
        key = (type(processor), cls)
        if key not in decisions:
            handled = next((k for k in processor._processing_map() if issubclass(cls, k)), None)
            decisions[key] = (issubclass(cls, Node), handled)
        return decisions[key]

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        is_node, handled = decide(self, type(node))
        if is_node:
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    self.traverse_node_recursively(child_node, i)
            if handled is not None:
                node = self._processing_map()[handled](node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    DepthFirstTraverser.traverse_node_recursively = traverse_node_recursively  # type: ignore[method-assign]


def _expression_checks_once() -> None:
    """Three of the processors moto runs over every UpdateItem's expression only check it: at
    most one clause of a kind, no two actions on overlapping paths, no key attribute updated.
    Their answers depend on the parsed expression, its attribute names and the table's keys
    alone, never on the item or the values, and they walk the tree again at every clause (a
    third of an UpdateItem's time in moto's backend). Here an expression that passed them once
    with the same names and keys skips them; it still goes through every other processor. Each
    string's parsed tree is one object (`_parsed_expressions_once`), which is what is
    remembered; a tree parsed anew is checked anew."""
    from moto.dynamodb.parsing import validators

    checks = (validators.ActionCountValidator, validators.OverlappingPathsValidator,
              validators.UpdateHashRangeKeyValidator)
    passed: dict[tuple[int, tuple[Any, ...], tuple[Any, ...]], Any] = {}  # -> the tree, so its id stays its own
    init = validators.UpdateExpressionValidator.__init__

    def remember_tree(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        init(self, expression, *args, **kwargs)
        self.parsed_tree = expression

    def validate(self: Any) -> Any:
        key = (id(self.parsed_tree), tuple(sorted((self.expression_attribute_names or {}).items())),
               tuple(self.table.table_key_attrs))
        checked = passed.get(key) is self.parsed_tree
        node = self.node_to_validate
        for processor in self.processors:
            if not (checked and isinstance(processor, checks)):
                node = processor.traverse(node)
        if not checked:
            if len(passed) >= 4096:
                passed.clear()
            passed[key] = self.parsed_tree
        return node

    validators.UpdateExpressionValidator.__init__ = remember_tree  # type: ignore[method-assign]
    validators.UpdateExpressionValidator.validate = validate  # type: ignore[method-assign]


def _trees_copied_by_pickle() -> None:
    """moto validates an UpdateItem twice, each time on a deep copy of the parsed expression tree
    (its processors rewrite the tree in place): a quarter of an UpdateItem's time in moto's
    backend. A pickle round trip makes the same copy (plain objects, parent links kept) in less
    than half the time. Only the trees: values keep moto's own `__deepcopy__`."""
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import Node

    def tree_copy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Node) and memo is None:
            return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own objects
        return copy.deepcopy(value, memo)

    validators.deepcopy = tree_copy  # type: ignore[attr-defined]


def _tables_sorted_by_plain_keys() -> None:
    """moto sorts a whole table for every Query and Scan (`Table.all_items`), comparing its
    key-value objects in Python: the watchdog's Query over the ledger table's index, thousands of
    rows deep in a full year, was a tenth of the DynamoDB process's CPU. String and number keys
    order as their plain values do (moto compares `cast_value`, equal when type and value are), so
    here the sort compares those; a table with any other key type keeps moto's sort."""
    from moto.dynamodb.models.table import Table

    original = Table.all_items
    plain_types = {("S",), ("N",), ("S", "S"), ("S", "N"), ("N", "S"), ("N", "N")}

    def all_items(self: Any) -> list[Any]:
        items = [item for hash_set in self.items.values()
                 for item in (hash_set.values() if self.range_key_attr else (hash_set,))]
        keys = [(item.hash_key, item.range_key) for item in items]
        types = {(h.type,) if r is None else (h.type, r.type) for h, r in keys}
        if len(types) > 1 or not types <= plain_types:
            return original(self)
        order = sorted(range(len(items)), key=lambda i: (keys[i][0].cast_value, keys[i][1].cast_value)
                       if keys[i][1] is not None else keys[i][0].cast_value)
        return [items[i] for i in order]

    Table.all_items = all_items  # type: ignore[method-assign]


# --------------------------------------------------------------------------- responses
def _member_names_picked_once() -> None:
    """moto's response serializer finds each member of a result by asking six alias providers,
    built anew for every member of every response, which names to try, and tries each name by
    catching a KeyError (a fifth of the DynamoDB process's CPU under a full-year load: every
    attribute value is a structure of ten members, nine of them absent). The names depend only
    on the member's shape, its parent, its key and the result's class (no provider reads a
    result's contents; one reads a `Meta` class of aliases, another the class's name), so here
    they are asked once per member shape and class and tried in the same order; in a plain dict
    by a membership test. A result with a `Meta` of its own, names that moto reads as paths in a
    dict (with a dot), and pickers with transformers keep moto's own path."""
    from moto.core import serialize
    from moto.core.utils import get_value as value_at

    original = serialize.ResponseSerializer.get_value
    picker_type, providers, missing = serialize.XFormedAttributePicker, serialize.DEFAULT_ALIAS_PROVIDERS, object()

    def get_value(self: Any, value: Any, key: str, shape: Any) -> Any:
        picker = self._value_picker
        if (type(picker) is not picker_type or picker.response_transformers or picker.alias_providers is not providers
                or "Meta" in getattr(value, "__dict__", ())):
            return original(self, value, key, shape)
        names = shape.__dict__.setdefault("_local_names", {})
        cache_key = (key, id(getattr(shape, "parent", None)), type(value))
        if cache_key not in names:
            context = serialize.AttributePickerContext(obj=value, key=key, shape=shape)
            candidates = tuple(picker.get_possible_keys(context))
            names[cache_key] = (candidates, any("." in name for name in candidates))
        candidates, dotted = names[cache_key]
        if type(value) is dict and not dotted:
            for name in candidates:
                if name in value:
                    return value[name]
            return None
        for name in candidates:
            found = value_at(value, name, missing)
            if found is not missing:
                return found
        return None

    serialize.ResponseSerializer.get_value = get_value  # type: ignore[method-assign]


# --------------------------------------------------------------------------- metrics
class _Datapoints:
    """What moto's GetMetricData reads of its backend, narrowed to some of the datapoints."""

    def __init__(self, datapoints: list[Any]) -> None:
        self.datapoints = datapoints

    def get_all_metrics(self) -> list[Any]:
        return self.datapoints


def _metric_queries_by_name() -> None:
    """moto answers a GetMetricData by scanning every datapoint of the window once per query and
    period (and sorting each one's dimensions); the local alarm evaluator asks for ninety-odd
    metrics at a time, so this was a tenth of the main process's CPU under a full-year load. A
    MetricStat query keeps only datapoints of its own metric name and, when it names dimensions,
    only those with the same dimensions (moto compares them sorted, pairwise), so here moto's own
    code answers each group of queries over that group's datapoints alone, and the results keep
    the queries' order. Requests with an expression (which reads other queries' results) keep
    moto's own path."""
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.get_metric_data

    def group_of(name: str, dimensions: Iterable[tuple[str, str]]) -> tuple[str, tuple[tuple[str, str], ...] | None]:
        pairs = tuple(sorted(dimensions))
        return name, pairs or None  # without dimensions, moto matches on the name alone

    def get_metric_data(self: Any, queries: list[dict[str, Any]], start_time: Any, end_time: Any,
                        scan_by: str = "TimestampAscending") -> list[dict[str, Any]]:
        ids = [query.get("Id") for query in queries]
        if any("MetricStat" not in q for q in queries) or len(set(ids)) < len(ids):
            return original(self, queries, start_time, end_time, scan_by)
        start, end = start_time.replace(microsecond=0), end_time.replace(microsecond=0)
        groups: dict[tuple[str, Any], list[Any]] = {}
        for datapoint in self.get_all_metrics():
            if start <= datapoint.timestamp < end:
                groups.setdefault((datapoint.name, None), []).append(datapoint)
                if datapoint.dimensions:
                    pairs = ((d.name, d.value) for d in datapoint.dimensions)
                    groups.setdefault(group_of(datapoint.name, pairs), []).append(datapoint)
        asked: dict[tuple[str, Any], list[dict[str, Any]]] = {}
        for query in queries:
            metric = query["MetricStat"]["Metric"]
            pairs = ((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
            asked.setdefault(group_of(metric["MetricName"], pairs), []).append(query)
        answers = {result["id"]: result for key, group in asked.items()
                   for result in original(_Datapoints(groups.get(key, [])), group, start_time, end_time, scan_by)}
        return [answers[query_id] for query_id in ids if query_id in answers]

    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]


# --------------------------------------------------------------------------- connections
class _NothingLeftToRead:
    """What werkzeug's server sees as `selectors`: its read-everything-left after each response,
    safe only on a connection it closes, finds nothing (`_keep_alive`)."""

    class DefaultSelector:
        def register(self, *args: Any) -> None:
            pass

        def select(self, timeout: float | None = None) -> list:
            return []

        def close(self) -> None:
            pass

    EVENT_READ = selectors.EVENT_READ


def _keep_alive(handler: type) -> type:
    """werkzeug's development server closes every connection after one response, because
    http.server cannot tell a body left unread from the next request; so every AWS request cost a
    new TCP connection and a new server thread (a tenth of a fetch's time under load). Here
    `LocalApp` reads each body in full before moto sees it, nothing is left unread, and a client's
    connection stays open for its next request, as AWS's endpoints keep it. A client that asks
    for close still gets it."""
    from werkzeug import serving

    serving.selectors = _NothingLeftToRead  # type: ignore[assignment]

    class KeepAlive(handler):  # type: ignore[valid-type,misc]
        # http.server writes a response in several small sends: on a connection that stays open,
        # Nagle's algorithm would hold the last one for the client's delayed ACK (40 ms).
        disable_nagle_algorithm = True

        def send_header(self, keyword: str, value: str) -> None:
            if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
                return
            super().send_header(keyword, value)

    return KeepAlive


# --------------------------------------------------------------------------- SQS at depth
def _fast_queues() -> None:
    """moto's SQS walks a queue's whole message list for each count and each received message,
    and reads the clock through datetime for every message it looks at: a ReceiveMessage of ten
    from a queue 3,000 deep took 3 s, a SendMessage 0.1 s, and a full year's queues are that deep.
    Here the clock is `time.time()`, the three counts come from one walk, and the retention check
    of each received message reads the one attribute it needs."""
    from moto.sqs import models
    from moto.sqs.models import Queue, SQSBackend

    original_unix_time = models.unix_time

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else original_unix_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return unix_time(dt) * 1000.0

    models.unix_time = unix_time
    models.unix_time_millis = unix_time_millis

    def counts(queue: Any) -> tuple[int, int, int]:
        """(visible and not delayed, delayed, not visible), as moto's three properties count them."""
        now = time.time() * 1000.0
        ready = delayed = hidden = 0
        for message in queue._messages:
            is_delayed = now < message.delayed_until
            is_visible = now > message.visible_at
            delayed += is_delayed
            hidden += not is_visible
            ready += is_visible and not is_delayed
        return ready, delayed, hidden

    original_attributes = Queue.attributes.fget

    def attributes(self: Any) -> dict[str, Any]:
        # The counts once, then moto's own assembly of the rest reads them from the instance.
        self.__dict__["_local_counts"] = counts(self)
        try:
            return original_attributes(self)
        finally:
            self.__dict__.pop("_local_counts", None)

    def count(index: int) -> Any:
        def read(self: Any) -> int:
            memo = self.__dict__.get("_local_counts")
            return (memo or counts(self))[index]
        return property(read)

    Queue.attributes = property(attributes)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages = count(0)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_delayed = count(1)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_not_visible = count(2)  # type: ignore[method-assign,assignment]

    original_get_queue_attributes = SQSBackend.get_queue_attributes

    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
        if not attribute_names or "All" in attribute_names:
            return original_get_queue_attributes(self, queue_name, attribute_names)
        # moto's own version validates the names, then rebuilds every attribute twice per name.
        queue = self.get_queue(queue_name)
        valid = {"All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES}
        if any(name not in valid for name in attribute_names):
            return original_get_queue_attributes(self, queue_name, attribute_names)  # raises moto's error
        current = queue.attributes
        return {name: current[name] for name in attribute_names if current.get(name) is not None}

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > time.time()

    SQSBackend.get_queue_attributes = get_queue_attributes  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]


# --------------------------------------------------------------------------- routing
def _known_services_once() -> None:
    """moto's server lists its own package folder on disk to route every request (a listdir and
    ~150 isdir calls: 5% of the emulator's CPU under a full-year load). The folders do not change
    while it runs, so they are listed once."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]


# --------------------------------------------------------------------------- the process
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, default=None, help="keep the state here across restarts")
    parser.add_argument("--parent-pid", type=int, default=None, help="save and exit when this process dies")
    parser.add_argument("--serve", default=None, help="a shard: serve only this service (started by the main process)")
    parser.add_argument("--restore", type=Path, default=None, help="a shard: load its service from this snapshot")
    args = parser.parse_args()
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(args.port))
    # One access-log line per request costs the emulator more than many of the requests; errors
    # (tracebacks) are still logged.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _light_transactions()
    _fast_queues()
    _known_services_once()
    _parsed_expressions_once()
    _traversed_types_once()
    _expression_checks_once()
    _trees_copied_by_pickle()
    _tables_sorted_by_plain_keys()
    _member_names_picked_once()
    _metric_queries_by_name()
    _picklable_queues()
    if args.state_dir:
        args.state_dir.mkdir(parents=True, exist_ok=True)
    if args.serve:
        _serve_shard(args, LocalApp(DomainDispatcherApplication(create_backend_app)), run_simple,
                     _keep_alive(MotoRequestHandler))
        return
    shards = Shards()
    own = tuple(s for s in PERSISTED_SERVICES if s not in shards.services)
    persistence = Persistence(args.state_dir, own, shards) if args.state_dir else None
    state = persistence.read() if persistence else None
    if persistence and state is not None:
        released = restore_state(state, own)
        print(f"restored {persistence.path} ({released} in-flight message(s) made visible again)", flush=True)
    shards.start(args.host, args.state_dir, persistence.shard_sources(state) if persistence else {})
    app = LocalApp(DomainDispatcherApplication(create_backend_app), persistence, shards)
    stop = threading.Event()
    exiting = threading.Lock()

    def shutdown(*_: object) -> None:
        if not exiting.acquire(blocking=False):
            return
        stop.set()
        try:
            if persistence:
                persistence.save(app.gate)
                (args.state_dir / PID_FILE).unlink(missing_ok=True)
        finally:
            os._exit(0)  # the shards see it and exit

    if persistence and args.state_dir:
        threading.Thread(target=persistence.run, args=(app.gate, stop), name="snapshots", daemon=True).start()
        record = {"pid": os.getpid(), "port": args.port, "endpoint": f"http://{args.host}:{args.port}"}
        (args.state_dir / PID_FILE).write_text(json.dumps(record))
    if args.parent_pid:
        exit_with(args.parent_pid, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    run_simple(args.host, args.port, app, threaded=True, request_handler=_keep_alive(MotoRequestHandler))


def _serve_shard(args: argparse.Namespace, app: LocalApp, run_simple: Any, handler: Any) -> None:
    """A shard: one service, loaded from the snapshot the main process names. It saves only when
    the main process asks (`Persistence.save_part`), and exits without saving when that process
    is gone: a part newer than the main file it belongs to would break the snapshot's one moment."""
    services = (args.serve,)
    if args.restore:
        restore_state(read_snapshot(args.restore.read_bytes()), services)
    if args.state_dir:
        app.persistence = Persistence(args.state_dir, services)
    if args.parent_pid:
        exit_with(args.parent_pid, lambda: os._exit(0))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the whole group: the main process saves first
    run_simple(args.host, args.port, app, threaded=True, request_handler=handler)


if __name__ == "__main__":
    main()
