"""DynamoDB in a moto process of its own: routed, counted, and saved as one snapshot with the rest."""

from __future__ import annotations

import json
import os
import pickle
import signal
import time
import urllib.error
import urllib.request

import boto3
import pytest

from infra.local import moto_server
from infra.local.children import running
from infra.local.emulator import CLIENT_CONFIG, Emulator
from infra.local.template import REGION

pytestmark = pytest.mark.integration

TABLE = {"TableName": "t", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}


def _client(service: str, endpoint: str, caller: str):
    client = boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                          aws_secret_access_key="testing", config=CLIENT_CONFIG)  # noqa: S106
    client.meta.events.register("before-send", lambda request, **_: request.headers.__setitem__("x-local-caller", caller))
    return client


def _snapshot(emulator: Emulator) -> dict:
    request = urllib.request.Request(f"{emulator.endpoint}/_local/snapshot", method="POST")
    return json.loads(urllib.request.urlopen(request, timeout=60).read())  # noqa: S310


@pytest.fixture
def stateful(tmp_path):
    started: list[Emulator] = []

    def start() -> Emulator:
        started.append(Emulator.start(state_dir=tmp_path, log_path=str(tmp_path / "moto.log")))
        return started[-1]

    yield start
    for emulator in started:
        emulator.stop()


def test_dynamodb_has_a_process_of_its_own_and_a_client_not_told_reaches_it_too():
    emulator = Emulator.start()
    try:
        shard = emulator.shards["dynamodb"]
        assert shard != emulator.endpoint and len(set(emulator.pids())) == 2
        assert emulator.environment()["AWS_ENDPOINT_URL_DYNAMODB"] == shard
        told, not_told = _client("dynamodb", shard, "told"), _client("dynamodb", emulator.endpoint, "not-told")
        told.create_table(**TABLE)
        not_told.put_item(TableName="t", Item={"pk": {"S": "a"}})
        assert told.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
        counted = {(r["caller"], r["action"]): r["count"] for r in emulator.requests() if r["service"] == "dynamodb"}
        assert counted == {("told", "CreateTable"): 1, ("not-told", "PutItem"): 1, ("told", "GetItem"): 1}  # once each
        emulator.reset_requests()
        assert [r for r in emulator.requests() if r["service"] == "dynamodb"] == []
        emulator.reset()
        assert told.list_tables()["TableNames"] == []
    finally:
        emulator.stop()


def test_one_snapshot_holds_both_parts_and_keeps_only_the_part_it_names(stateful, tmp_path):
    emulator = stateful()
    dynamodb, s3 = emulator.client("dynamodb"), emulator.client("s3")
    dynamodb.create_table(**TABLE)
    s3.create_bucket(Bucket="kept-bucket")
    for value in ("a", "b"):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": value}})
        _snapshot(emulator)
    parts = sorted(tmp_path.glob("emulator-dynamodb-*.pickle"))
    main = pickle.loads((tmp_path / moto_server.SNAPSHOT_FILE).read_bytes())  # noqa: S301 - written by this test
    assert "dynamodb" not in main["backends"] and len(parts) == 1
    assert parts[0].name == moto_server.shard_file("dynamodb", main["shards"]["dynamodb"])
    emulator.stop()

    again = stateful()
    items = again.client("dynamodb").scan(TableName="t")["Items"]
    assert sorted(i["pk"]["S"] for i in items) == ["a", "b"]
    assert again.client("s3").head_bucket(Bucket="kept-bucket")


def test_a_state_saved_before_the_shard_existed_is_loaded_into_it(stateful, tmp_path):
    emulator = stateful()
    dynamodb = emulator.client("dynamodb")
    dynamodb.create_table(**TABLE)
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "old"}})
    emulator.stop()
    # The earlier layout: one file, DynamoDB inside it, no shard part named.
    main_path = tmp_path / moto_server.SNAPSHOT_FILE
    main = pickle.loads(main_path.read_bytes())  # noqa: S301 - written by this test
    part_path = tmp_path / moto_server.shard_file("dynamodb", main.pop("shards")["dynamodb"])
    main["backends"].update(pickle.loads(part_path.read_bytes())["backends"])  # noqa: S301
    part_path.unlink()
    main_path.write_bytes(pickle.dumps(main))

    again = stateful()
    assert again.client("dynamodb").get_item(TableName="t", Key={"pk": {"S": "old"}})["Item"] == {"pk": {"S": "old"}}


def test_a_shard_that_cannot_save_leaves_the_previous_snapshot_whole(stateful, tmp_path):
    emulator = stateful()
    emulator.client("dynamodb").create_table(**TABLE)
    _snapshot(emulator)
    before = (tmp_path / moto_server.SNAPSHOT_FILE).read_bytes()
    parts = sorted(tmp_path.glob("emulator-dynamodb-*.pickle"))
    shard_pid = emulator.pids()[1]
    os.kill(shard_pid, signal.SIGKILL)
    emulator.client("s3").create_bucket(Bucket="after-the-snapshot")  # due: the periodic save fails too
    with pytest.raises(urllib.error.HTTPError, match="503"):
        _snapshot(emulator)
    assert (tmp_path / moto_server.SNAPSHOT_FILE).read_bytes() == before
    assert sorted(tmp_path.glob("emulator-dynamodb-*.pickle")) == parts


def test_the_shard_exits_with_the_main_process_and_writes_nothing(stateful, tmp_path):
    emulator = stateful()
    emulator.client("dynamodb").create_table(**TABLE)
    main_pid, shard_pid = emulator.pids()
    os.kill(main_pid, signal.SIGKILL)  # no save: the main file is the commit point
    deadline = time.monotonic() + 10
    while running(shard_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(shard_pid)
    assert list(tmp_path.glob("emulator-dynamodb-*.pickle")) == []
