"""The local API served by worker processes on one port, as API Gateway spreads requests over
Lambda instances: each worker answers on its own, and none outlives the stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import http_worker_probe
import pytest

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
    for name, value in {**emulator.environment(), "SITE_BUCKET": "site", "GOLD_BUCKET": "gold"}.items():
        monkeypatch.setenv(name, value)
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="site")
    s3.create_bucket(Bucket="gold")
    upload_static(s3, "site")
    return emulator


def listening_sockets(pid: int, port: int) -> int:
    """How many sockets process `pid` listens with on `port` (from /proc: its fds, the TCP table)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
        count += local_port == port and state == "0A" and inode in inodes  # 0A: LISTEN
    return count


def test_workers_listen_on_one_port_and_serve_the_api_and_the_site(site_env):
    with HttpApiWorkers(2) as workers:
        pids = workers.pids()
        assert len(pids) == 2 and os.getpid() not in pids
        # Each worker listens on the port itself; the stack's process only holds it.
        assert [listening_sockets(pid, workers.port) for pid in pids] == [1, 1]
        assert listening_sockets(os.getpid(), workers.port) == 0
        status, body = get(f"{workers.url}/")
        assert status == 200 and b"13107" in body
        status, body = get(f"{workers.url}/v1/health")
        assert status in (200, 503) and json.loads(body)["status"] == "missing"  # no Gold yet: said, not a 500
        assert get(f"{workers.url}/api/meta.json")[0] == 403
        assert all(get(f"{workers.url}/index.html")[0] == 200 for _ in range(20))
    assert not any(alive(pid) for pid in pids)


def test_workers_exit_when_the_stack_is_killed(site_env, tmp_path):
    """kill -9 of the process that started them: they exit on their own."""
    script = tmp_path / "host.py"
    script.write_text(
        "import json, sys, time\n"
        "from infra.local.http_api import HttpApiWorkers\n"
        "if __name__ == '__main__':\n"  # the workers' fork server runs this file's top level again
        "    w = HttpApiWorkers(2).start()\n"
        "    print(json.dumps({'pids': w.pids(), 'url': w.url}), flush=True)\n"
        "    time.sleep(600)\n"
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
    # (Not "the port refuses connections": once free, a test running beside this one may take it.)
    assert not any(alive(pid) for pid in started["pids"])


@pytest.mark.parametrize("body", [http_worker_probe.exits, http_worker_probe.hangs], ids=["exits", "hangs"])
def test_a_worker_that_cannot_start_is_an_error_not_a_hang(body):
    workers = HttpApiWorkers(2)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="did not start"):
        workers.start(timeout_s=2, serve=body)  # each worker dies, or never says "ready"
    assert time.monotonic() - started < 10 and workers.pids() == []
