"""The AWS emulator: moto in server mode, in its own process, started by the project itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import boto3
from botocore.config import Config

from infra.local.template import REGION

PID_FILE = "emulator.json"  # in a state folder: the persistent emulator serving it (pid, port)

# moto answers unimplemented calls with 500; retrying those only hides the gap.
CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=50)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def aws_environment(endpoint: str, shards: Mapping[str, str] | None = None) -> dict[str, str]:
    """What every boto3 client in the process needs to talk to the emulator: its address, and the
    address of each service a moto process of its own answers (`Emulator.shards`)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        **{f"AWS_ENDPOINT_URL_{service.upper()}": url for service, url in (shards or {}).items()},
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's dummy credentials
        "AWS_MAX_ATTEMPTS": "2",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "CongressDisclosures",
    }


@dataclass
class Emulator:
    endpoint: str
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls, port: int | None = None, log_path: str | None = None, state_dir: Path | None = None) -> Emulator:
        """Start moto; with `state_dir` it loads the state saved there, keeps it there, and saves
        and exits when this process dies (an orphan from an earlier crash is stopped first)."""
        port = port or free_port()
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        # It exits (saving its state first, if it keeps one) when this process dies: never an orphan.
        persistence = ["--parent-pid", str(os.getpid())]
        if state_dir is not None:
            stop_orphan(state_dir)
            persistence += ["--state-dir", str(Path(state_dir).resolve())]
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.moto_server", "--port", str(port), *persistence],
            stdout=log,
            stderr=log,
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
            cwd=Path(__file__).resolve().parents[2],
        )
        emulator = cls(endpoint=f"http://127.0.0.1:{port}", process=process)
        emulator.wait_ready(timeout=300.0 if state_dir is not None else 30.0)  # loading a big saved state takes a while
        return emulator

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).read()  # noqa: S310
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"moto server at {self.endpoint} did not start in {timeout}s")

    def _described_shards(self) -> dict[str, dict]:
        return json.loads(urllib.request.urlopen(f"{self.endpoint}/_local/shards", timeout=5).read())  # noqa: S310

    @cached_property
    def shards(self) -> dict[str, str]:
        """Service -> address of each service a moto process of its own answers (the main
        process answers them too, through the shard, for a client that was not told)."""
        try:
            described = self._described_shards()
        except (OSError, ValueError):
            return {}
        return {service: shard["endpoint"] for service, shard in described.items()}

    def environment(self) -> dict[str, str]:
        return aws_environment(self.endpoint, self.shards)

    def pids(self) -> list[int]:
        """The emulator's processes: the main one, then its shards."""
        main = [self.process.pid] if self.process else []
        return main + [shard["pid"] for shard in self._described_shards().values()]

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()  # noqa: S310

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.shards.get(service, self.endpoint),
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106
            config=CLIENT_CONFIG,
        )

    def requests(self) -> list[dict]:
        """What reached the emulator since it started (or the last reset): caller, service, action, count."""
        return json.loads(urllib.request.urlopen(f"{self.endpoint}/_local/requests", timeout=10).read())  # noqa: S310

    def reset_requests(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/_local/requests", method="DELETE")
        urllib.request.urlopen(request, timeout=10).read()  # noqa: S310

    def wake_polls(self) -> None:
        """End every long poll waiting in the emulator (they answer with no messages)."""
        request = urllib.request.Request(f"{self.endpoint}/_local/wake", method="POST")
        urllib.request.urlopen(request, timeout=10).read()  # noqa: S310

    def stop(self) -> None:
        """SIGTERM: a persistent emulator saves its state first (it may take a while when big)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def recorded_emulator(state_dir: Path) -> dict | None:
    """The emulator a state folder's pid file names, if that process still runs and is ours."""
    path = Path(state_dir) / PID_FILE
    try:
        record = json.loads(path.read_text())
        cmdline = Path(f"/proc/{int(record['pid'])}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError, KeyError):
        return None
    # A reboot may give the pid to another process: it is ours only if it runs our server on this folder.
    if "infra.local.moto_server" not in cmdline or str(Path(state_dir).resolve()) not in cmdline:
        return None
    return record


def stop_orphan(state_dir: Path, timeout_s: float = 120.0) -> bool:
    """Stop an emulator left running by a crashed stack: SIGTERM makes it save its state and exit."""
    record = recorded_emulator(state_dir)
    if record is None:
        (Path(state_dir) / PID_FILE).unlink(missing_ok=True)
        return False
    pid = int(record["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and recorded_emulator(state_dir) is not None and alive(pid):
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    (Path(state_dir) / PID_FILE).unlink(missing_ok=True)
    return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not alive.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True
