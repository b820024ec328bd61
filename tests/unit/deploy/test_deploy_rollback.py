from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra.deploy import rollback as rb
from infra.local.template import Stack, load
from tests.unit.deploy.helpers import fake_aws_env, publish_release


@pytest.fixture
def aws(monkeypatch):
    fake_aws_env(monkeypatch)
    with mock_aws():
        yield boto3.client("lambda", region_name="us-east-1"), boto3.client("iam", region_name="us-east-1")


def test_previous_version_is_the_highest_below_the_current():
    assert rb.previous_version([1, 2, 3, 5], 5) == 3
    assert rb.previous_version([1, 2, 3], 1) is None
    assert rb.previous_version([], 4) is None


def test_rollback_moves_live_one_version_back_each_time(aws):
    lam, iam = aws
    publish_release(lam, iam, ["fn-a", "fn-b"], releases=3)
    moves = rb.rollback(lam, ["fn-a", "fn-b"])
    assert [(m.function, m.from_version, m.to_version, m.action) for m in moves] == [
        ("fn-a", "3", "2", "rolled_back"), ("fn-b", "3", "2", "rolled_back")]
    assert lam.get_alias(FunctionName="fn-a", Name="live")["FunctionVersion"] == "2"
    assert "fn-a: live 3 -> 2" == moves[0].describe()
    rb.rollback(lam, ["fn-a"])
    assert lam.get_alias(FunctionName="fn-a", Name="live")["FunctionVersion"] == "1"
    (last,) = rb.rollback(lam, ["fn-a"])
    assert last.action == "nothing_to_roll_back" and not last.moved and "nothing to roll back" in last.describe()


def test_dry_run_moves_nothing_and_missing_aliases_are_reported(aws):
    lam, iam = aws
    publish_release(lam, iam, ["fn-a"], releases=2)
    (move,) = rb.rollback(lam, ["fn-a"], dry_run=True)
    assert move.action == "dry_run" and "would move live 2 -> 1" in move.describe()
    assert lam.get_alias(FunctionName="fn-a", Name="live")["FunctionVersion"] == "2"
    lam.delete_alias(FunctionName="fn-a", Name="live")
    (move,) = rb.rollback(lam, ["fn-a"])
    assert move.action == "no_alias" and "no live alias" in move.describe()


def test_a_canary_in_progress_is_cancelled_not_rolled_back_further(aws):
    lam, iam = aws
    publish_release(lam, iam, ["fn-a"], releases=2)
    lam.update_alias(FunctionName="fn-a", Name="live", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
    (move,) = rb.rollback(lam, ["fn-a"])
    assert (move.action, move.from_version, move.to_version) == ("canary_cancelled", "2", "1")
    assert "canary of version 2 cancelled" in move.describe()
    alias = lam.get_alias(FunctionName="fn-a", Name="live")
    assert alias["FunctionVersion"] == "1"
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")


def test_function_names_from_the_template():
    names = rb.template_function_names(Stack(load(), name="s"))
    assert "s-discover" in names and "s-api" in names and "s-ocr" in names and len(names) == 9


def test_deployments_in_progress_are_stopped_with_their_auto_rollback():
    codedeploy = boto3.client("codedeploy", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(codedeploy) as stub:
        stub.add_response("list_deployments", {"deployments": ["d-1"]}, {
            "applicationName": "app", "includeOnlyStatuses": ["Created", "Queued", "InProgress", "Ready"]})
        stub.add_response("stop_deployment", {"status": "Pending"}, {"deploymentId": "d-1", "autoRollbackEnabled": True})
        assert rb.stop_deployments(codedeploy, "app") == ["d-1"]


def _one_rolled_back_one_in_a_canary(lam, iam):
    """fn-a rolled back to 2, fn-b on 3 with half its traffic still on 2, fn-c on 3; 3 is declared."""
    publish_release(lam, iam, ["fn-a", "fn-b", "fn-c"], releases=3)
    rb.rollback(lam, ["fn-a"])
    lam.update_alias(FunctionName="fn-b", Name="live", FunctionVersion="3",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    return lam


def test_roll_forward_puts_live_back_on_the_declared_version(aws):
    lam = _one_rolled_back_one_in_a_canary(*aws)
    moves = rb.roll_forward(lam, {"fn-a": "3", "fn-b": "3", "fn-c": "3", "fn-gone": "1"})
    assert [(m.function, m.from_version, m.to_version, m.action) for m in moves] == [
        ("fn-a", "2", "3", "rolled_forward"), ("fn-b", "3", "3", "rolled_forward")]
    assert all(m.moved for m in moves)
    for name in ("fn-a", "fn-b", "fn-c"):
        alias = lam.get_alias(FunctionName=name, Name="live")
        assert alias["FunctionVersion"] == "3" and not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert rb.roll_forward(lam, {"fn-a": "3"}) == []


def test_behind_reports_live_off_the_declared_version_and_moves_nothing(aws):
    lam = _one_rolled_back_one_in_a_canary(*aws)
    lagging = rb.behind(lam, {"fn-a": "3", "fn-b": "3", "fn-c": "3", "fn-gone": "1"})
    assert [(m.function, m.from_version, m.to_version, m.action) for m in lagging] == [
        ("fn-a", "2", "3", "behind"), ("fn-b", "3", "3", "behind")]
    assert not any(m.moved for m in lagging)
    assert lagging[0].describe() == "fn-a: live on version 2, the stack declares 3"
    assert lam.get_alias(FunctionName="fn-a", Name="live")["FunctionVersion"] == "2"
    assert lam.get_alias(FunctionName="fn-b", Name="live")["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.5}


def test_declared_versions_come_from_the_stacks_version_resources():
    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

    def resource(logical_id, physical_id, type_name):
        return {"LogicalResourceId": logical_id, "PhysicalResourceId": physical_id, "ResourceType": type_name,
                "LastUpdatedTimestamp": now, "ResourceStatus": "UPDATE_COMPLETE"}

    fn = "arn:aws:lambda:us-east-1:123456789012:function"
    with Stubber(cfn) as stub:
        stub.add_response("list_stack_resources", {"StackResourceSummaries": [
            resource("FetchFunction", "s-fetch", "AWS::Lambda::Function"),
            resource("FetchFunctionVersion0a1b2c", f"{fn}:s-fetch:7", "AWS::Lambda::Version"),
            resource("FetchFunctionAliaslive", f"{fn}:s-fetch:live", "AWS::Lambda::Alias"),
            resource("ApiFunctionVersion3d4e5f", f"{fn}:s-api:2", "AWS::Lambda::Version"),
        ]}, {"StackName": "s"})
        assert rb.declared_versions(cfn, "s") == {"s-fetch": "7", "s-api": "2"}
