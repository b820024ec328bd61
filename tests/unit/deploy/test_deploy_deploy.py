"""The deploy's AWS calls: S3, SSM and STS against moto (in process); CloudFormation, whose SAM
transform moto does not run, with botocore's Stubber checking every call and its parameters."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from infra.deploy import deploy as d
from infra.deploy.stages import load_stage
from tests.unit.deploy.helpers import fake_aws_env

STACK = "congress-disclosures-prod"
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def aws(monkeypatch):
    fake_aws_env(monkeypatch)
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        stubber = Stubber(cfn)
        cache = {"cloudformation": cfn}

        def clients(service):
            return cache.setdefault(service, boto3.client(service, region_name="us-east-1"))

        with stubber:
            yield clients, stubber
        stubber.assert_no_pending_responses()


def _stack(status, outputs=None):
    return {"Stacks": [{"StackName": STACK, "CreationTime": NOW, "StackStatus": status,
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()]}]}


def _missing(stubber):
    stubber.add_client_error("describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist")


def _expect_deploy(stubber, change_set_type, status, params=ANY):
    stubber.add_response("create_change_set", {"Id": "cs-arn", "StackId": "stack-arn"}, {
        "StackName": STACK, "ChangeSetName": "cs", "ChangeSetType": change_set_type, "TemplateURL": ANY,
        "Parameters": params, "Capabilities": d.CAPABILITIES, "Tags": ANY})
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"}, {"StackName": STACK, "ChangeSetName": "cs"})
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE", "Changes": [{"Type": "Resource", "ResourceChange": {
        "Action": "Add", "LogicalResourceId": "DiscoverFunction", "ResourceType": "AWS::Lambda::Function"}}]},
        {"StackName": STACK, "ChangeSetName": "cs"})
    stubber.add_response("execute_change_set", {}, {"StackName": STACK, "ChangeSetName": "cs"})
    stubber.add_response("describe_stacks", _stack(status), {"StackName": STACK})  # the waiter
    stubber.add_response("describe_stacks", _stack(status), {"StackName": STACK})
    stubber.add_response("describe_stacks", _stack(status, {"ApiUrl": "https://api.example"}), {"StackName": STACK})


def test_first_deploy_creates_the_stack_from_a_change_set(aws, tmp_path):
    clients, stubber = aws
    clients("ssm").put_parameter(Name="/congress-disclosures/prod/alert-email", Value="ops@example.org", Type="SecureString")
    _missing(stubber)
    expected = [{"ParameterKey": "AlertEmail", "ParameterValue": "ops@example.org"},
                {"ParameterKey": "ClerkBaseUrl", "ParameterValue": "https://disclosures-clerk.house.gov"},
                {"ParameterKey": "MaxReceiveCount", "ParameterValue": "3"},
                {"ParameterKey": "NightlyScheduleState", "ParameterValue": "DISABLED"},
                {"ParameterKey": "Stage", "ParameterValue": "prod"}]
    _expect_deploy(stubber, "CREATE", "CREATE_COMPLETE", expected)
    original = d.deploy_template
    d_calls = {}

    def named(*args, **kwargs):
        d_calls["url"] = args[2]
        return original(*args, **{**kwargs, "change_set_name": "cs", "delay": 1})

    d.deploy_template = named
    try:
        result = d.deploy(load_stage("prod"), clients, tmp_path, deps_dir=None)
    finally:
        d.deploy_template = original

    assert result.change_set_type == "CREATE" and result.status == "CREATE_COMPLETE"
    assert result.outputs == {"ApiUrl": "https://api.example"}
    assert result.changes == ["Add DiscoverFunction (AWS::Lambda::Function)"]
    bucket = d.artifacts_bucket_name(STACK, "123456789012", "us-east-1")
    s3 = clients("s3")
    stored = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    code = [k for k in stored if k.startswith(f"{STACK}/code/")]
    templates = [k for k in stored if k.startswith(f"{STACK}/templates/")]
    assert len(code) == 1 and len(templates) == 1
    assert d_calls["url"] == f"https://{bucket}.s3.amazonaws.com/{templates[0]}"
    template = json.loads(s3.get_object(Bucket=bucket, Key=templates[0])["Body"].read())
    assert template["Globals"]["Function"]["CodeUri"] == {"Bucket": bucket, "Key": code[0]}
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
    ssm = clients("ssm")
    assert ssm.get_parameter(Name="/congress-disclosures/prod/last-template-url")["Parameter"]["Value"] == d_calls["url"]


def test_update_of_an_existing_stack_and_an_empty_change_set(aws):
    clients, stubber = aws
    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})
    _expect_deploy(stubber, "UPDATE", "UPDATE_COMPLETE")
    result = d.deploy_template(clients("cloudformation"), STACK, "https://t", {"Stage": "prod"}, change_set_name="cs", delay=1)
    assert result.change_set_type == "UPDATE" and result.status == "UPDATE_COMPLETE" and not result.no_changes

    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})
    stubber.add_response("create_change_set", {"Id": "cs-arn"}, None)
    failed = {"Status": "FAILED", "StatusReason": "The submitted information didn't contain changes."}
    stubber.add_response("describe_change_set", failed, {"StackName": STACK, "ChangeSetName": "cs"})
    stubber.add_response("describe_change_set", failed, {"StackName": STACK, "ChangeSetName": "cs"})
    stubber.add_response("delete_change_set", {}, {"StackName": STACK, "ChangeSetName": "cs"})
    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE", {"ApiUrl": "u"}), {"StackName": STACK})
    result = d.deploy_template(clients("cloudformation"), STACK, "https://t", {"Stage": "prod"}, change_set_name="cs", delay=1)
    assert result.no_changes and result.outputs == {"ApiUrl": "u"}


def test_a_failed_change_set_and_a_failed_stack_are_errors(aws):
    clients, stubber = aws
    _missing(stubber)
    stubber.add_response("create_change_set", {"Id": "cs-arn"}, None)
    failed = {"Status": "FAILED", "StatusReason": "Template format error"}
    stubber.add_response("describe_change_set", failed, None)
    stubber.add_response("describe_change_set", failed, None)
    with pytest.raises(d.DeployError, match="Template format error"):
        d.deploy_template(clients("cloudformation"), STACK, "https://t", {}, change_set_name="cs", delay=1)

    stubber.add_response("describe_stacks", _stack("ROLLBACK_COMPLETE"), {"StackName": STACK})
    with pytest.raises(d.DeployError, match="ROLLBACK_COMPLETE"):
        d.deploy_template(clients("cloudformation"), STACK, "https://t", {}, delay=1)

    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})
    stubber.add_response("create_change_set", {"Id": "cs-arn"}, None)
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"}, None)
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"}, None)
    stubber.add_response("execute_change_set", {}, None)
    stubber.add_response("describe_stacks", _stack("UPDATE_ROLLBACK_COMPLETE"), None)  # waiter: failure state
    stubber.add_response("describe_stacks", _stack("UPDATE_ROLLBACK_COMPLETE"), None)
    with pytest.raises(d.DeployError, match="UPDATE_ROLLBACK_COMPLETE"):
        d.deploy_template(clients("cloudformation"), STACK, "https://t", {}, change_set_name="cs", delay=1)


def test_nightly_rule_stays_disabled_on_prod_until_verify_records_a_successful_run(aws):
    clients, _ = aws
    ssm = clients("ssm")
    prod, dev = load_stage("prod"), load_stage("dev")
    assert d.nightly_state(prod, ssm) == "DISABLED"
    ssm.put_parameter(Name=prod.nightly_flag_parameter, Value="false", Type="String")
    assert d.nightly_state(prod, ssm) == "DISABLED"
    ssm.put_parameter(Name=prod.nightly_flag_parameter, Value="true", Type="String", Overwrite=True)
    assert d.nightly_state(prod, ssm) == "ENABLED"
    assert d.nightly_state(dev, ssm) == "DISABLED"


def test_secrets_are_read_from_ssm_and_masked(aws):
    clients, _ = aws
    ssm = clients("ssm")
    prod = load_stage("prod")
    declared = {"Stage", "ClerkBaseUrl", "MaxReceiveCount", "NightlyScheduleState", "AlertEmail"}
    with pytest.raises(d.DeployError, match="/congress-disclosures/prod/alert-email"):
        d.resolve_parameters(prod, ssm, declared)
    ssm.put_parameter(Name="/congress-disclosures/prod/alert-email", Value="ops@example.org", Type="SecureString")
    values = d.resolve_parameters(prod, ssm, declared)
    assert values["AlertEmail"] == "ops@example.org" and values["NightlyScheduleState"] == "DISABLED"
    # A template without the parameter does not get it; a stage value the template lacks is an error.
    assert "AlertEmail" not in d.resolve_parameters(prod, ssm, declared - {"AlertEmail"})
    with pytest.raises(d.DeployError, match="does not declare"):
        d.resolve_parameters(prod, ssm, {"Stage"})


def test_release_history_keeps_the_previous_template(aws):
    clients, _ = aws
    ssm = clients("ssm")
    prod = load_stage("prod")
    assert d.previous_template_url(prod, ssm) is None
    d.record_release(prod, ssm, "https://t/1", {})
    d.record_release(prod, ssm, "https://t/2", {})
    d.record_release(prod, ssm, "https://t/2", {})
    assert d.previous_template_url(prod, ssm) == "https://t/1"


def test_artifacts_bucket_outside_us_east_1_and_reuse(aws):
    clients, _ = aws
    s3 = boto3.client("s3", region_name="eu-west-1")
    d.ensure_bucket(s3, "b-eu", "eu-west-1")
    d.ensure_bucket(s3, "b-eu", "eu-west-1")  # exists: nothing to do
    assert s3.get_bucket_location(Bucket="b-eu")["LocationConstraint"] == "eu-west-1"
    assert d.upload_if_missing(s3, "b-eu", "k", b"x") is True
    assert d.upload_if_missing(s3, "b-eu", "k", b"x") is False
    assert len(d.artifacts_bucket_name("x" * 80, "123456789012", "us-east-1")) <= 63
