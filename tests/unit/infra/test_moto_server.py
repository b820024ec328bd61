"""Canaries for each moto internal infra/local/moto_server.py relies on or patches: a moto release
that moves one fails here, by name, before it fails a run. Plus the request classification."""

from __future__ import annotations

import copy
import pickle
import threading

import pytest
from moto import mock_aws

from infra.local import moto_server
from infra.local.moto_server import RequestGate, mutates, s3_action


def test_canary_sqs_queue_holds_a_condition_and_a_message_list():
    from moto.sqs.models import Message, Queue

    queue = Queue("q", "us-east-1", "123456789012")
    assert isinstance(queue._messages_lock, type(threading.Condition()))
    assert queue._messages == [] and queue._pending_messages == set()
    message = Message("id", "body")
    assert message.visible and hasattr(message, "visible_at")


def test_canary_dynamodb_transactions_copy_tables_through_the_module_copy():
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    assert models.copy is copy or type(models.copy).__name__ == "_NoTableCopy"
    assert callable(models.DynamoDBBackend.transact_write_items)
    assert {"hash_key_attr", "range_key_attr", "items"} <= set(vars(Table("t", "123456789012", "us-east-1", [
        {"AttributeName": "pk", "KeyType": "HASH"}], [{"AttributeName": "pk", "AttributeType": "S"}])))


def test_canary_s3_keeps_bucket_owners_beside_its_backends():
    from moto.backends import get_backend

    assert isinstance(get_backend("s3").bucket_accounts, dict)


@mock_aws
def test_a_snapshot_restores_every_service_and_releases_messages_in_flight():
    import boto3

    moto_server._picklable_queues()
    sqs, s3, ddb = (boto3.client(s, region_name="us-east-1") for s in ("sqs", "s3", "dynamodb"))
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="one")
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]
    s3.create_bucket(Bucket="kept-bucket")
    s3.put_object(Bucket="kept-bucket", Key="k", Body=b"data")
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}})
    data = moto_server.snapshot_bytes()

    from moto.core.base_backend import BackendDict

    BackendDict.reset()
    assert moto_server.restore_bytes(data) == 1
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])] == ["one"]
    assert s3.get_object(Bucket="kept-bucket", Key="k")["Body"].read() == b"data"
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}


def test_a_snapshot_of_another_moto_is_refused():
    state = pickle.loads(moto_server.snapshot_bytes())
    state["moto"] = "0.0.1"
    with pytest.raises(moto_server.SnapshotMismatch, match="disclosures reset"):
        moto_server.restore_bytes(pickle.dumps(state))


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("HEAD", "/bucket/a/b.pdf", "", "HeadObject"),
    ("GET", "/bucket/a/b.pdf", "x-id=GetObject", "GetObject"),
    ("PUT", "/bucket/a/b.pdf", "x-id=PutObject", "PutObject"),
    ("GET", "/bucket", "list-type=2&prefix=a", "ListObjectsV2"),
    ("POST", "/bucket", "delete", "DeleteObjects"),
])
def test_s3_actions_are_named_by_method_and_path(method, path, query, expected):
    assert s3_action(method, path, query, copy=False) == expected


def test_only_changes_make_a_snapshot_due():
    assert not mutates("POST", "ReceiveMessage", b'{"Messages": []}')
    assert mutates("POST", "ReceiveMessage", b'{"Messages": [{"ReceiptHandle": "x"}]}')
    assert not mutates("POST", "GetItem", b"") and not mutates("HEAD", "HeadObject", b"")
    assert mutates("POST", "TransactWriteItems", b"") and mutates("PUT", "PutObject", b"")


def test_the_gate_keeps_requests_out_while_a_snapshot_is_taken():
    gate = RequestGate()
    assert gate.lock_for("s3", "GET", "GetObject") is None
    assert gate.lock_for("sns", "POST", "Publish") is gate.lock_for("s3", "PUT", "PutObject") is gate.lock_for("sqs", "POST", "X")
    assert gate.lock_for("dynamodb", "POST", "Query") is not gate.lock_for("sqs", "POST", "X")
    gate.enter()
    entered = threading.Event()

    def snapshot() -> None:
        with gate.exclusive():
            entered.set()

    thread = threading.Thread(target=snapshot)
    thread.start()
    assert not entered.wait(0.2)  # a request is in progress
    gate.leave()
    assert entered.wait(2)
    thread.join()
