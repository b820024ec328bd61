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
