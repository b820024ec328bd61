"""The AWS emulator: moto in server mode, in its own process, started by the project itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

from infra.local.template import REGION

# moto answers unimplemented calls with 500; retrying those only hides the gap.
CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=50)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def aws_environment(endpoint: str) -> dict[str, str]:
    """What every boto3 client in the process needs to talk to the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
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
    def start(cls, port: int | None = None, log_path: str | None = None) -> Emulator:
        port = port or free_port()
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.moto_server", "--port", str(port)],
            stdout=log,
            stderr=log,
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
            cwd=Path(__file__).resolve().parents[2],
        )
        emulator = cls(endpoint=f"http://127.0.0.1:{port}", process=process)
        emulator.wait_ready()
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

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()  # noqa: S310

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106
            config=CLIENT_CONFIG,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
