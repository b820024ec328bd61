"""Canaries for each moto internal infra/local/moto_server.py relies on or patches: a moto release
that moves one fails here, by name, before it fails a run. Plus the request classification."""

from __future__ import annotations

import copy
import json
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


def test_canary_the_server_routes_through_the_module_listing_it_caches():
    import inspect

    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    assert "backends.list_of_moto_modules()" in inspect.getsource(DomainDispatcherApplication.get_backend_for_host)
    assert {"s3", "sqs", "sns", "dynamodb"} <= set(backends.list_of_moto_modules())


def test_the_module_listing_is_read_once(monkeypatch):
    from moto import backends

    monkeypatch.setattr(backends, "list_of_moto_modules", backends.list_of_moto_modules)
    listed = list(backends.list_of_moto_modules())
    moto_server._known_services_once()
    monkeypatch.setattr(backends.os, "listdir", lambda path: pytest.fail("listed again"))
    assert list(backends.list_of_moto_modules()) == listed


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
    assert moto_server.restore_state(moto_server.read_snapshot(data)) == 1
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])] == ["one"]
    assert s3.get_object(Bucket="kept-bucket", Key="k")["Body"].read() == b"data"
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}


def test_a_snapshot_of_another_moto_is_refused():
    state = pickle.loads(moto_server.snapshot_bytes())
    state["moto"] = "0.0.1"
    with pytest.raises(moto_server.SnapshotMismatch, match="disclosures reset"):
        moto_server.restore_state(moto_server.read_snapshot(pickle.dumps(state)))


def test_canary_sqs_reads_its_clock_and_counts_through_what_fast_queues_replaces():
    from moto.sqs import models

    assert callable(models.unix_time) and callable(models.unix_time_millis)
    assert isinstance(models.Queue.attributes, property)
    for name in ("approximate_number_of_messages", "approximate_number_of_messages_delayed",
                 "approximate_number_of_messages_not_visible"):
        assert isinstance(getattr(models.Queue, name), property)
    assert callable(models.SQSBackend.get_queue_attributes)
    assert callable(models.SQSBackend.is_message_valid_based_on_retention_period)
    message = models.Message("id", "body")
    assert {"visible_at", "delayed_until", "sent_timestamp"} <= set(vars(message))


def _sqs_state() -> dict:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="counted")["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
             "ApproximateNumberOfMessagesNotVisible", "VisibilityTimeout"]
    state = {"all": sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"],
             "named": sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]}
    for volatile in ("CreatedTimestamp", "LastModifiedTimestamp"):
        state["all"].pop(volatile)
    with pytest.raises(sqs.exceptions.ClientError, match="InvalidAttributeName"):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
    sqs.delete_queue(QueueUrl=url)
    return state


def test_fast_queues_answers_what_moto_answers(monkeypatch):
    from moto.sqs import models

    with mock_aws():
        expected = _sqs_state()
    for owner, name in ((models, "unix_time"), (models, "unix_time_millis"), (models.Queue, "attributes"),
                        (models.Queue, "approximate_number_of_messages"),
                        (models.Queue, "approximate_number_of_messages_delayed"),
                        (models.Queue, "approximate_number_of_messages_not_visible"),
                        (models.SQSBackend, "get_queue_attributes"),
                        (models.SQSBackend, "is_message_valid_based_on_retention_period")):
        monkeypatch.setattr(owner, name, vars(owner)[name])  # put back after the test
    moto_server._fast_queues()
    with mock_aws():
        assert _sqs_state() == expected
    assert expected["named"]["ApproximateNumberOfMessages"] == "2"
    assert expected["named"]["ApproximateNumberOfMessagesDelayed"] == "1"
    assert expected["named"]["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_fast_queues_still_drops_a_message_past_its_retention(monkeypatch):
    import boto3
    from moto.sqs import models

    for owner, name in ((models, "unix_time"), (models, "unix_time_millis"), (models.Queue, "attributes"),
                        (models.SQSBackend, "is_message_valid_based_on_retention_period")):
        monkeypatch.setattr(owner, name, vars(owner)[name])
    moto_server._fast_queues()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="old")
        sqs.send_message(QueueUrl=url, MessageBody="new")
        queue = models.sqs_backends["123456789012"]["us-east-1"].queues["short"]
        queue._messages[0].sent_timestamp -= 61_000
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])] == []
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])] == ["new"]


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


def test_a_periodic_save_that_a_requested_one_overtook_writes_nothing(tmp_path):
    persistence = moto_server.Persistence(tmp_path, services=("s3",))
    gate = RequestGate()
    persistence.dirty = True
    assert persistence.due()  # the periodic thread decides to save, then waits for the lock...
    persistence.save(gate)  # ...held by a snapshot asked for (POST /_local/snapshot), which took the changes
    written = (tmp_path / moto_server.SNAPSHOT_FILE).read_bytes()
    assert persistence.save(gate, only_if_due=True) == 0.0
    assert (tmp_path / moto_server.SNAPSHOT_FILE).read_bytes() == written
    persistence.dirty, persistence.last_saved = True, 0.0
    assert persistence.save(gate, only_if_due=True) > 0.0  # still due: it saves


def test_the_gate_keeps_requests_out_while_a_snapshot_is_taken():
    gate = RequestGate()
    assert gate.lock_for("s3", "GetObject") is None
    assert gate.lock_for("sns", "Publish") is gate.lock_for("s3", "PutObject") is gate.lock_for("sqs", "X")
    assert gate.lock_for("dynamodb", "Query") is not gate.lock_for("sqs", "X")
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


def test_canary_dynamodb_validates_a_copy_of_the_parsed_tree_and_lexes_into_tuples():
    import inspect

    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.validators import Validator

    assert "deepcopy(expression)" in inspect.getsource(Validator.__init__)
    assert isinstance(vars(UpdateExpressionParser)["make"], classmethod)
    assert issubclass(ConditionExpressionParser.Node, tuple)
    assert all(isinstance(node, tuple) for node in
               ConditionExpressionParser("#0 = :0 AND attribute_not_exists(#1)", {}, {})._lex_condition_expression())


def _dynamodb_outcomes() -> list:
    """Updates and conditions that pass, fail and nest: what DynamoDB answered and stored."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    outcomes: list = []
    update = "SET #s = :s, #n = if_not_exists(#n, :zero) + :one, #l = list_append(if_not_exists(#l, :empty), :item) REMOVE #r"
    names = {"#s": "status", "#n": "count", "#r": "reason", "#l": "errors"}
    for status, condition in (("stored", "attribute_not_exists(#s)"), ("extracted", "#s IN (:a, :b)"),
                              ("extracted", "#s IN (:a, :b)"), ("stored", "NOT (#s = :s) AND #n < :limit")):
        try:
            dynamodb.update_item(TableName="t", Key={"pk": {"S": "k"}}, UpdateExpression=update,
                                 ConditionExpression=condition, ExpressionAttributeNames=names,
                                 ExpressionAttributeValues={k: v for k, v in {
                                     ":s": {"S": status}, ":zero": {"N": "0"}, ":one": {"N": "1"}, ":a": {"S": "stored"},
                                     ":b": {"S": "needs_ocr"}, ":limit": {"N": "5"},
                                     ":empty": {"L": []}, ":item": {"L": [{"S": status}]}}.items()
                                     if k in update + condition})
            outcomes.append("ok")
        except dynamodb.exceptions.ConditionalCheckFailedException:
            outcomes.append("refused")
        outcomes.append(dynamodb.get_item(TableName="t", Key={"pk": {"S": "k"}})["Item"])
    with pytest.raises(dynamodb.exceptions.ClientError, match="ValidationException"):
        dynamodb.update_item(TableName="t", Key={"pk": {"S": "k"}}, UpdateExpression="SET = :x",
                             ExpressionAttributeValues={":x": {"S": "x"}})
    return outcomes


def test_parsed_expressions_once_answers_what_moto_answers(monkeypatch):
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    with mock_aws():
        expected = _dynamodb_outcomes()
    monkeypatch.setattr(UpdateExpressionParser, "make", vars(UpdateExpressionParser)["make"])
    monkeypatch.setattr(ConditionExpressionParser, "_lex_condition_expression",
                        ConditionExpressionParser._lex_condition_expression)
    moto_server._parsed_expressions_once()
    for _ in range(2):  # the second time from the cache
        with mock_aws():
            assert _dynamodb_outcomes() == expected
    assert expected[::2] == ["ok", "ok", "refused", "ok"]


def test_canary_update_expressions_are_traversed_by_the_node_types_each_processor_names():
    import inspect

    from moto.dynamodb.parsing import ast_nodes, validators

    traverse = inspect.getsource(ast_nodes.DepthFirstTraverser.traverse_node_recursively)
    assert "isinstance(node, Node)" in traverse and "isinstance(node, self.nodes_to_be_processed())" in traverse
    assert "node = self.process(node)" in traverse and "self.pre_processing_of_child(node, i)" in traverse
    process = inspect.getsource(ast_nodes.DepthFirstTraverser.process)
    assert "for class_key, processor in self._processing_map().items():" in process  # the first match
    processors = [c for c in vars(validators).values()
                  if isinstance(c, type) and issubclass(c, ast_nodes.DepthFirstTraverser)
                  and c is not ast_nodes.DepthFirstTraverser]
    assert len(processors) > 5
    # Each processor's types are its class's own: none computes them from its instance.
    assert all("nodes_to_be_processed" not in vars(c) and "process" not in vars(c)
               and "traverse_node_recursively" not in vars(c) for c in processors)


def test_traversed_types_once_answers_what_moto_answers(monkeypatch):
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

    with mock_aws():
        expected = _dynamodb_outcomes()
    monkeypatch.setattr(DepthFirstTraverser, "traverse_node_recursively", DepthFirstTraverser.traverse_node_recursively)
    moto_server._traversed_types_once()
    for _ in range(2):  # the second time from the cache
        with mock_aws():
            assert _dynamodb_outcomes() == expected


def test_canary_three_update_processors_check_the_tree_and_names_alone():
    import inspect

    from moto.dynamodb.parsing import validators

    source = inspect.getsource(validators.UpdateExpressionValidator.get_ast_processors)
    assert source.index("ActionCountValidator()") < source.index("OverlappingPathsValidator(self.expression_attribute_names)")
    assert "UpdateHashRangeKeyValidator(\n                self.table.table_key_attrs" in source
    for check in (validators.ActionCountValidator, validators.OverlappingPathsValidator,
                  validators.UpdateHashRangeKeyValidator):
        body = inspect.getsource(check)
        assert "return node" in body and "self.item" not in body and "values" not in body
    assert "for processor in self.processors:" in inspect.getsource(validators.Validator.validate)
    assert "self.node_to_validate = deepcopy(expression)" in inspect.getsource(validators.Validator.__init__)


def _update_refusals() -> list:
    """What DynamoDB says to updates the three checks refuse, between ones they pass, each twice."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    same = "SET #a = :x, #b = :y"
    cases = [(same, {"#a": "one", "#b": "two"}), (same, {"#a": "one", "#b": "one"}),  # the names decide
             ("SET #a = :x REMOVE #a", {"#a": "one"}), ("SET a = :x SET b = :y", None),
             ("SET #a = :x, #b = :y", {"#a": "pk", "#b": "two"}), ("SET m.a = :x, m = :y", None),
             (same, {"#a": "one", "#b": "two"})]
    outcomes: list = []
    for _ in range(2):
        for update, names in cases:
            try:
                dynamodb.update_item(TableName="t", Key={"pk": {"S": "k"}}, UpdateExpression=update,
                                     ExpressionAttributeValues={":x": {"S": "x"}, ":y": {"M": {}}},
                                     **({"ExpressionAttributeNames": names} if names else {}))
                outcomes.append("ok")
            except dynamodb.exceptions.ClientError as error:
                outcomes.append(error.response["Error"]["Message"])
    outcomes.append(dynamodb.get_item(TableName="t", Key={"pk": {"S": "k"}})["Item"])
    return outcomes


def test_expression_checks_once_answer_what_moto_answers(monkeypatch):
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    monkeypatch.setattr(validators.UpdateExpressionValidator, "__init__", validators.UpdateExpressionValidator.__init__)
    monkeypatch.setattr(validators.UpdateExpressionValidator, "validate", validators.UpdateExpressionValidator.validate)
    monkeypatch.setattr(UpdateExpressionParser, "make", vars(UpdateExpressionParser)["make"])
    def outcomes() -> list:
        with mock_aws():
            refusals = _update_refusals()
        with mock_aws():
            return refusals + _dynamodb_outcomes()

    expected = outcomes()
    moto_server._parsed_expressions_once()  # one tree per string: what the checks remember
    moto_server._expression_checks_once()
    assert outcomes() == expected
    assert expected[:7].count("ok") == 2 and len(set(expected[:7])) == 6


def test_canary_validation_copies_the_parsed_tree_through_the_module_deepcopy():
    import inspect

    from moto.dynamodb.parsing import validators

    assert validators.deepcopy is copy.deepcopy
    assert "deepcopy(expression)" in inspect.getsource(validators.Validator.__init__)


def test_trees_copied_by_pickle_answer_what_moto_answers(monkeypatch):
    from moto.dynamodb.parsing import validators

    with mock_aws():
        expected = _dynamodb_outcomes()
    monkeypatch.setattr(validators, "deepcopy", copy.deepcopy)
    moto_server._trees_copied_by_pickle()
    assert validators.deepcopy is not copy.deepcopy
    with mock_aws():
        assert _dynamodb_outcomes() == expected


def test_canary_dynamodb_queries_and_scans_read_a_table_through_all_items():
    import inspect

    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    assert "for item in self.all_items()" in inspect.getsource(Table.query)
    assert "self.all_items()" in inspect.getsource(Table.scan)
    source = inspect.getsource(Table.all_items)
    assert "sorted(" in source and "(x.hash_key, x.range_key) if x.range_key else x.hash_key" in source
    assert "self.cast_value < other.cast_value" in inspect.getsource(DynamoType.__lt__)
    assert "self.type == other.type and self.cast_value == other.cast_value" in inspect.getsource(DynamoType.__eq__)


def _table_reads() -> list:
    """Queries (on the table and an index, both ways, paged) and a scan over string and number keys."""
    import random

    import boto3

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    for name, key_type in (("s", "S"), ("n", "N")):
        dynamodb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t in
                                  (("pk", "S"), ("sk", key_type), ("g", "S"), ("at", "N"))],
            GlobalSecondaryIndexes=[{"IndexName": "by-g", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
                {"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}]}])
        rng = random.Random(7)
        for i in range(150):
            sk = {key_type: str(rng.randint(0, 10**6)) if key_type == "N" else f"doc#{rng.randint(0, 10**6):07d}"}
            dynamodb.put_item(TableName=name, Item={"pk": {"S": f"p{i % 6}"}, "sk": sk, "g": {"S": f"g{i % 3}"},
                                                    "at": {"N": str(rng.randint(0, 40))}})
    reads: list = []
    for name in ("s", "n"):
        reads.append(dynamodb.scan(TableName=name)["Items"])
        for forward in (True, False):
            reads.append(dynamodb.query(TableName=name, KeyConditionExpression="pk = :p", ScanIndexForward=forward,
                                        ExpressionAttributeValues={":p": {"S": "p2"}})["Items"])
            page = dynamodb.query(TableName=name, IndexName="by-g", KeyConditionExpression="g = :g", Limit=7,
                                  ScanIndexForward=forward, ExpressionAttributeValues={":g": {"S": "g1"}})
            reads.append(page["Items"])
            reads.append(dynamodb.query(TableName=name, IndexName="by-g", KeyConditionExpression="g = :g",
                                        ExclusiveStartKey=page["LastEvaluatedKey"], ScanIndexForward=forward,
                                        ExpressionAttributeValues={":g": {"S": "g1"}})["Items"])
    return reads


def _patched_alike(monkeypatch, owner: type, name: str, patch, outcomes) -> list:
    """What `outcomes` gives under moto's own `owner.name`, checked equal under `patch`."""
    own = getattr(owner, name)
    monkeypatch.setattr(owner, name, own)  # put back after the test
    with mock_aws():
        expected = outcomes()
    patch()
    assert getattr(owner, name) is not own
    with mock_aws():
        assert outcomes() == expected
    return expected


def test_tables_sorted_by_plain_keys_read_what_moto_reads(monkeypatch):
    from moto.dynamodb.models.table import Table

    expected = _patched_alike(monkeypatch, Table, "all_items", moto_server._tables_sorted_by_plain_keys, _table_reads)
    assert [len(r) for r in expected[:4]] == [150, 25, 7, 43]


def test_canary_the_serializer_picks_members_through_alias_providers_that_read_no_contents():
    import inspect

    from moto.core import serialize

    assert [p.__name__ for p in serialize.DEFAULT_ALIAS_PROVIDERS] == [
        "ExplicitAlias", "ShapeNameAlias", "NoAlias", "ShapePrefixAlias", "ClassPrefixAlias", "ModelAlias"]
    assert "self._value_picker(context)" in inspect.getsource(serialize.ResponseSerializer.get_value)
    assert "self.get_value(value, key, shape)" in inspect.getsource(serialize.ResponseSerializer._serialize_structure_member)
    assert serialize.XFormedAttributePicker().response_transformers == {}


def _serialized(service: str, operation: str, result: object, protocol: str = "json") -> dict:
    from moto.core import serialize
    from moto.core.utils import get_service_model

    model = get_service_model(service).operation_model(operation)
    serializer = serialize.get_serializer_class(service, protocol)(
        operation_model=model, pretty_print=False, value_picker=serialize.XFormedAttributePicker())
    return serializer.serialize(result)


class _Instance:
    """A model object, as SQS answers with."""

    message_id, md5_of_body, body = "m-1", "d41d8cd98f00b204e9800998ecf8427e", "{}"


class Message:
    """Found by its class's name (`MessageId` -> `id`) and by a `Meta` class of aliases."""

    class Meta:
        serialization_aliases = {"Body": "text"}  # noqa: RUF012 - moto's own convention

    id, text, md5_of_body = "m-2", "hello", "5d41402abc4b2a76b9719d911017c592"


class _OwnMeta(_Instance):
    """A `Meta` of its own, not its class's: moto's own path."""

    def __init__(self) -> None:
        self.Meta = type("Meta", (), {"serialization_aliases": {"Body": "md5_of_body"}})


def test_member_names_picked_once_serialize_what_moto_serializes(monkeypatch):
    import datetime

    from moto.core import serialize

    item = {"pk": {"S": "2025#1"}, "n": {"N": "3"}, "l": {"L": [{"S": "x"}]}, "bin": {"B": b"\x00\x01"},
            "m": {"M": {"a": {"BOOL": True}, "b": {"NULL": True}}}}
    stamp = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    metrics = {"MetricDataResults": [{"id": "a", "label": "x", "values": [1.0], "timestamps": [stamp],
                                      "status_code": "Complete"}], "Messages": []}
    corpus = [
        ("dynamodb", "GetItem", {"Item": item}, "json"),
        ("dynamodb", "UpdateItem", {"Attributes": item, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}}, "json"),
        ("dynamodb", "Query", {"Items": [item], "Count": 1, "ScannedCount": 1, "LastEvaluatedKey": {"pk": {"S": "k"}}}, "json"),
        ("dynamodb", "Query", {"item_list": [item], "count": 1}, "json"),  # found by a snake_case alias
        ("dynamodb", "Query", {"ItemList": [item], "Items": [], "Count": 1}, "json"),  # the shape's name comes first
        ("dynamodb", "BatchGetItem", {"Responses": {"t": [item]}, "UnprocessedKeys": {}}, "json"),
        ("dynamodb", "GetItem", {}, "json"),
        ("cloudwatch", "GetMetricData", metrics, "json"),
        ("cloudwatch", "GetMetricData", metrics, "query"),
        ("sqs", "ReceiveMessage", {"Messages": [_Instance(), Message(), _OwnMeta(), _Instance()]}, "json"),
        ("sqs", "ReceiveMessage", {"Messages": [{"MessageId": "m-3", "message_id": "no", "Body": "{}"}]}, "json"),
    ]
    monkeypatch.setattr(serialize.ResponseSerializer, "get_value", serialize.ResponseSerializer.get_value)
    expected = [_serialized(*case) for case in corpus]
    moto_server._member_names_picked_once()
    for _ in range(2):  # the second time from the cache
        assert [_serialized(*case) for case in corpus] == expected
    assert '"Items": [{"pk"' in expected[4]["body"] and '"Count": 1' in expected[3]["body"]
    messages = json.loads(expected[-2]["body"])["Messages"]
    assert [m["MessageId"] for m in messages] == ["m-1", "m-2", "m-1", "m-1"]
    assert [m["Body"] for m in messages] == ["{}", "hello", "d41d8cd98f00b204e9800998ecf8427e", "{}"]
    with mock_aws():
        assert _dynamodb_outcomes()[::2] == ["ok", "ok", "refused", "ok"]


def test_canary_get_metric_data_reads_the_backend_only_through_get_all_metrics():
    import inspect
    import re

    from moto.cloudwatch.models import CloudWatchBackend

    source = inspect.getsource(CloudWatchBackend.get_metric_data)
    assert set(re.findall(r"self\.\w+", source)) == {"self.get_all_metrics"}
    assert "md.name == query_name" in source  # each MetricStat query keeps its own metric's datapoints


def _metric_answers() -> list:
    """GetMetricData over datapoints of several names, namespaces, dimensions, units and times."""
    import datetime

    import boto3

    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for i in range(120):
        dims = [{"Name": "service", "Value": ("fetch", "extract", "ledger")[i % 3]}] if i % 4 else []
        if i % 10 == 0:  # two dimensions, in either order
            dims = [{"Name": "service", "Value": "fetch"}, {"Name": "stage", "Value": "x"}][::1 if i % 20 else -1]
        cloudwatch.put_metric_data(Namespace=("A", "B")[i % 2], MetricData=[{
            "MetricName": ("Errors", "Invocations", "Duration")[i % 3 if i % 5 else 0], "Dimensions": dims,
            "Value": float(i % 7), "Unit": ("Count", "Milliseconds")[i % 2],
            "Timestamp": start + datetime.timedelta(seconds=i % 50, milliseconds=i * 7)}])
    both = [{"Name": "stage", "Value": "x"}, {"Name": "service", "Value": "fetch"}]
    queries = [{"Id": f"q{n}", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name, **(
        {"Dimensions": both if service == "both" else [{"Name": "service", "Value": service}]} if service else {})},
        "Period": period, "Stat": stat, **({"Unit": unit} if unit else {})}, **({"ReturnData": False} if n % 9 == 8 else {})}
        for n, (ns, name, service, period, stat, unit) in enumerate(
            (ns, name, service, period, stat, unit)
            for ns in ("A", "B") for name in ("Errors", "Invocations", "Duration", "Absent")
            for service, period, stat, unit in (("fetch", 10, "Sum", None), (None, 5, "SampleCount", None),
                                                ("extract", 30, "Average", "Count"), (None, 60, "Maximum", "Milliseconds"),
                                                ("both", 10, "Sum", None)))]
    answers = []
    for scan in ("TimestampAscending", "TimestampDescending"):
        answers.append(cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start,
                                                  EndTime=start + datetime.timedelta(seconds=45), ScanBy=scan)["MetricDataResults"])
    for query in queries[:6]:  # one at a time, as for an alarm whose window no other alarm has
        answers.append(cloudwatch.get_metric_data(MetricDataQueries=[query], StartTime=start,
                                                  EndTime=start + datetime.timedelta(seconds=45))["MetricDataResults"])
    answers.append(cloudwatch.get_metric_data(MetricDataQueries=queries[:3] + [{"Id": "e", "Expression": "q0 + q1"}],
                                              StartTime=start, EndTime=start + datetime.timedelta(seconds=60))["MetricDataResults"])
    return answers


def test_metric_queries_by_name_answer_what_moto_answers(monkeypatch):
    from moto.cloudwatch.models import CloudWatchBackend

    expected = _patched_alike(monkeypatch, CloudWatchBackend, "get_metric_data", moto_server._metric_queries_by_name,
                              _metric_answers)
    assert len(expected[0]) == 36 and sum(1 for r in expected[0] if r["Values"]) > 10
    assert any(r["Values"] for r in expected[0] if r["Id"] in ("q4", "q24"))  # both dimensions


def test_canary_werkzeug_closes_each_connection_and_reads_what_is_left_through_selectors():
    import inspect

    from werkzeug import serving

    source = inspect.getsource(serving.WSGIRequestHandler.run_wsgi)
    assert 'self.send_header("Connection", "close")' in source
    assert "selectors.DefaultSelector()" in source and "selector.select(" in source
    assert serving.selectors.__name__ == "selectors"  # not patched in this process


def _sqs_request(action: str, queue: str, **fields) -> dict:
    import io
    import json

    body = json.dumps({"QueueUrl": f"http://localhost/123456789012/{queue}", **fields}).encode()
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
            "HTTP_X_AMZ_TARGET": f"AmazonSQS.{action}",
            "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=key/20261201/us-east-1/sqs/aws4_request, Signature=s"}


def test_a_write_wakes_only_the_long_polls_whose_queue_has_a_message(monkeypatch):
    """A send (or a publish, an S3 event) wakes the polls of a queue that now has a message to
    give; the polls of every other queue sleep on, without asking moto again."""
    import json
    import time
    from collections import Counter

    visible: set[str] = set()
    receives: Counter[str] = Counter()
    monkeypatch.setattr(moto_server, "_has_visible", lambda account, region, name: name in visible)
    monkeypatch.setattr(moto_server, "LONG_POLL_RECHECK_S", 60.0)  # only a write can end a poll before its wait

    def moto(environ, start_response):  # stands in for moto: a receive finds what `visible` says
        body = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        start_response("200 OK", [])
        name = body["QueueUrl"].rsplit("/", 1)[-1]
        if environ["HTTP_X_AMZ_TARGET"].endswith("ReceiveMessage"):
            receives[name] += 1
            return [b'{"Messages": [{"ReceiptHandle": "r"}]}' if name in visible else b"{}"]
        return [b'{"MessageId": "m"}']

    app = moto_server.LocalApp(moto)
    answered: dict[str, float] = {}

    def poll(queue: str) -> None:
        started = time.monotonic()
        b"".join(app(_sqs_request("ReceiveMessage", queue, WaitTimeSeconds=5), lambda status, headers: None))
        answered[queue] = time.monotonic() - started

    threads = [threading.Thread(target=poll, args=(q,)) for q in ("a", "b")]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    visible.add("a")
    app(_sqs_request("SendMessage", "a", MessageBody="x"), lambda status, headers: None)
    threads[0].join(timeout=10)
    assert answered["a"] < 5  # told by the write, before its wait ended
    time.sleep(0.2)
    assert receives == {"a": 2, "b": 1}  # b's poll was not woken
    visible.add("b")
    app(_sqs_request("SendMessage", "b", MessageBody="y"), lambda status, headers: None)
    threads[1].join(timeout=10)
    assert receives["b"] == 2 and answered["b"] < 5
