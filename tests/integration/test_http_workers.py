"""The local API served by worker processes on one port, as API Gateway spreads requests over
Lambda instances: each worker answers on its own, and none outlives the stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from infra.local.emulator import aws_environment
from infra.local.http_api import HttpApiWorkers

ROOT = Path(__file__).resolve().parents[2]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.split(") ", 1)[1][0] != "Z"


@pytest.fixture()
def site_env(emulator, monkeypatch):
    """An empty site bucket holding the website's files, and this process pointed at it."""
    from services.publish_api.publish import upload_static

    emulator.reset()
    for name, value in {**aws_environment(emulator.endpoint), "SITE_BUCKET": "site", "GOLD_BUCKET": "gold"}.items():
        monkeypatch.setenv(name, value)
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="site")
    s3.create_bucket(Bucket="gold")
    upload_static(s3, "site")
    return emulator


def test_workers_share_one_port_and_each_answers_alone(site_env):
    with HttpApiWorkers(2) as workers:
        pids = workers.pids()
        assert len(pids) == 2 and os.getpid() not in pids
        status, body = get(f"{workers.url}/")
        assert status == 200 and b"13107" in body
        status, body = get(f"{workers.url}/v1/health")
        assert status in (200, 503) and json.loads(body)["status"] == "missing"  # no Gold yet: said, not a 500
        assert get(f"{workers.url}/api/meta.json")[0] == 403
        # One worker gone (a Lambda instance recycled): the other takes every connection.
        os.kill(pids[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(pids[0]) and time.monotonic() < deadline:  # its socket closes with it
            time.sleep(0.05)
        for _ in range(20):
            assert get(f"{workers.url}/index.html")[0] == 200
    assert not any(alive(pid) for pid in pids)


def test_workers_exit_when_the_stack_is_killed(site_env, tmp_path):
    """kill -9 of the process that started them: they exit on their own, the port is free again."""
    script = tmp_path / "host.py"
    script.write_text(
        "import json, sys, time\n"
        "from infra.local.http_api import HttpApiWorkers\n"
        "w = HttpApiWorkers(2).start()\n"
        "print(json.dumps({'pids': w.pids(), 'url': w.url}), flush=True)\n"
        "time.sleep(600)\n"
    )
    host = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        started = json.loads(host.stdout.readline())
        assert get(started["url"] + "/")[0] == 200
    finally:
        host.kill()
        host.wait()
        host.stdout.close()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started["pids"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in started["pids"])
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(started["url"] + "/", timeout=5)
