"""The emulator's own fixes: a failed DynamoDB transaction still rolls back every item."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration


def test_a_cancelled_transaction_leaves_no_partial_write(emulator):
    emulator.reset()
    ddb = emulator.client("dynamodb")
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    ddb.put_item(TableName="t", Item={"pk": {"S": "run"}, "sk": {"S": "RUN"}, "n": {"N": "1"}})
    ddb.put_item(TableName="t", Item={"pk": {"S": "run"}, "sk": {"S": "DOC#1"}, "state": {"S": "done"}})
    with pytest.raises(ClientError, match="TransactionCanceled"):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "run"}, "sk": {"S": "RUN"}},
                        "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "run"}, "sk": {"S": "DOC#2"}}}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "run"}, "sk": {"S": "DOC#1"}},
                        "UpdateExpression": "SET #s = :d", "ConditionExpression": "attribute_not_exists(#s)",
                        "ExpressionAttributeNames": {"#s": "state"}, "ExpressionAttributeValues": {":d": {"S": "x"}}}},
        ])
    items = {i["sk"]["S"]: i for i in ddb.scan(TableName="t")["Items"]}
    assert set(items) == {"RUN", "DOC#1"}
    assert items["RUN"]["n"] == {"N": "1"} and items["DOC#1"]["state"] == {"S": "done"}


def _queue(emulator, name: str) -> tuple[object, str]:
    sqs = emulator.client("sqs")
    return sqs, sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]


def test_a_long_poll_answers_when_a_message_arrives_and_holds_no_other_request(emulator):
    import threading
    import time

    emulator.reset()
    sqs, url = _queue(emulator, "long-poll")
    other_sqs, other = _queue(emulator, "other")
    got: dict = {}

    def poll() -> None:
        started = time.monotonic()
        got["messages"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
        got["waited_s"] = time.monotonic() - started

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    started = time.monotonic()
    other_sqs.send_message(QueueUrl=other, MessageBody="elsewhere")  # not held by the waiting poll
    assert time.monotonic() - started < 2
    assert poller.is_alive()  # a message on another queue does not end it
    sqs.send_message(QueueUrl=url, MessageBody="now")
    poller.join(timeout=5)
    assert [m["Body"] for m in got["messages"]] == ["now"] and got["waited_s"] < 5


def test_a_long_poll_ends_empty_at_its_wait_and_sees_a_message_whose_visibility_ran_out(emulator):
    import time

    emulator.reset()
    sqs, url = _queue(emulator, "visibility")
    started = time.monotonic()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    assert 0.9 <= time.monotonic() - started < 3
    sqs.send_message(QueueUrl=url, MessageBody="again")
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]  # in flight for 1 s
    started = time.monotonic()
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    assert [m["Body"] for m in again] == ["again"] and time.monotonic() - started < 3.5


def test_wake_ends_every_long_poll_at_once(emulator):
    import threading
    import time

    emulator.reset()
    sqs, url = _queue(emulator, "woken")
    done: list[float] = []
    started = time.monotonic()
    poller = threading.Thread(target=lambda: (sqs.receive_message(QueueUrl=url, WaitTimeSeconds=15),
                                              done.append(time.monotonic() - started)))
    poller.start()
    time.sleep(0.5)
    emulator.wake_polls()
    poller.join(timeout=5)
    assert done and done[0] < 3
