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


def _connection(endpoint: str):
    import http.client
    import urllib.parse

    address = urllib.parse.urlsplit(endpoint)
    return http.client.HTTPConnection(address.hostname, address.port, timeout=10)


def test_a_connection_stays_open_for_the_next_requests_even_after_a_body_moto_ignores(emulator):
    """One TCP connection per client, as AWS's endpoints keep it: a body moto never reads (an
    unknown path's) is read all the same, so it is not taken for the next request."""
    emulator.reset()
    connection = _connection(emulator.endpoint)
    connection.request("POST", "/no-such-thing/at-all", body=b"GET /moto-api/ HTTP/1.1\r\n\r\n" * 50)
    first = connection.getresponse()
    first.read()
    assert first.getheader("Connection") is None
    sock = connection.sock
    for _ in range(3):
        connection.request("GET", "/moto-api/data.json")
        response = connection.getresponse()
        assert response.status == 200 and b"sqs" in response.read()
    assert connection.sock is sock  # never reopened
    connection.close()

    ddb = emulator.client("dynamodb")
    ddb.create_table(TableName="kept", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    for n in range(3):
        ddb.put_item(TableName="kept", Item={"pk": {"S": str(n)}})
    assert ddb.scan(TableName="kept")["Count"] == 3


def test_a_client_that_asks_to_close_gets_its_connection_closed(emulator):
    connection = _connection(emulator.endpoint)
    connection.request("GET", "/moto-api/data.json", headers={"Connection": "close"})
    response = connection.getresponse()
    response.read()
    assert response.getheader("Connection") == "close" and response.will_close


def test_a_chunked_body_is_read_to_its_end_and_the_connection_serves_the_next_request(emulator):
    emulator.reset()
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="chunked-bodies")
    connection = _connection(emulator.endpoint)
    connection.request("PUT", "/chunked-bodies/k", body=iter([b"GET /moto-api/ HTTP/1.1\r\n\r\n", b"more"]),
                       encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
    first = connection.getresponse()
    first.read()
    sock = connection.sock
    connection.request("GET", "/moto-api/data.json")
    second = connection.getresponse()
    assert second.status == 200 and b"sqs" in second.read()
    assert connection.sock is sock
    connection.close()
