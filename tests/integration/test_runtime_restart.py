"""A stack started on kept state releases the work its dead predecessor held."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_idempotency_records_left_in_progress_are_released_and_finished_ones_kept(harness):
    runtime = harness.runtime
    table = runtime.provisioned.environment["IDEMPOTENCY_TABLE"]
    dynamodb = runtime.client("dynamodb")
    for key, status in (("build_gold#held", "INPROGRESS"), ("build_gold#done", "COMPLETED"), ("extract#held", "INPROGRESS")):
        dynamodb.put_item(TableName=table, Item={"id": {"S": key}, "status": {"S": status},
                                                  "expiration": {"N": "9999999999"}})
    assert runtime.release_interrupted_work() == 2
    left = {i["id"]["S"]: i["status"]["S"] for i in dynamodb.scan(TableName=table)["Items"]}
    assert left == {"build_gold#done": "COMPLETED"}
    assert runtime.release_interrupted_work() == 0
