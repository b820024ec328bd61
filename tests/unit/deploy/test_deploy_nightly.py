"""The nightly switch: the operator's on/off is recorded in SSM, every deploy passes it on, and
`verify` enables the rule after the first successful smoke run only. EventBridge, SSM and
CloudFormation (a stack holding just the rule) run in moto, in process."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from infra.cli.main import app
from infra.deploy import nightly
from infra.deploy.stages import load_stage
from tests.unit.deploy.helpers import fake_aws_env

PROD = load_stage("prod")
FLAG = "/congress-disclosures/prod/nightly-enabled"


@pytest.fixture
def aws(monkeypatch):
    fake_aws_env(monkeypatch)
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        cfn.create_stack(StackName=PROD.stack_name, TemplateBody=json.dumps({"Resources": {"NightlyRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {"ScheduleExpression": "cron(0 7 * * ? *)", "State": "DISABLED"}}}}))
        rule = cfn.describe_stack_resource(StackName=PROD.stack_name, LogicalResourceId="NightlyRule")[
            "StackResourceDetail"]["PhysicalResourceId"]
        yield boto3.client("events", region_name="us-east-1"), boto3.client("ssm", region_name="us-east-1"), rule


def _state(events, rule):
    return events.describe_rule(Name=rule)["State"]


def _flag(ssm):
    return nightly.read_flag(ssm, FLAG)


def test_the_next_deploy_follows_the_switch(aws):
    _events, ssm, _rule = aws
    assert nightly.deploy_state(PROD, ssm) == "DISABLED"  # never verified
    ssm.put_parameter(Name=FLAG, Value="true", Type="String")
    assert nightly.deploy_state(PROD, ssm) == "ENABLED"
    ssm.put_parameter(Name=FLAG, Value="false", Type="String", Overwrite=True)
    assert nightly.deploy_state(PROD, ssm) == "DISABLED"
    assert nightly.deploy_state(load_stage("dev"), ssm) == "DISABLED"  # a fixed policy ignores the switch


def test_verify_enables_the_rule_the_first_time_only_and_respects_off(aws):
    events, ssm, rule = aws
    first = nightly.after_smoke_run(PROD, events, ssm, rule)
    assert "first successful smoke run" in first and _state(events, rule) == "ENABLED" and _flag(ssm) == "true"
    assert "is ENABLED" in nightly.after_smoke_run(PROD, events, ssm, rule)

    nightly.switch(PROD, events, ssm, rule, False)
    assert _state(events, rule) == "DISABLED" and _flag(ssm) == "false"
    paused = nightly.after_smoke_run(PROD, events, ssm, rule)  # a later deploy + verify
    assert "paused" in paused and "nightly on --stage prod" in paused
    assert _state(events, rule) == "DISABLED" and _flag(ssm) == "false"
    assert nightly.deploy_state(PROD, ssm) == "DISABLED"


def test_a_rule_switched_outside_the_switch_is_reported_not_changed(aws):
    events, ssm, rule = aws
    ssm.put_parameter(Name=FLAG, Value="true", Type="String")
    message = nightly.after_smoke_run(PROD, events, ssm, rule)
    assert "but rule" in message and "is DISABLED" in message and _state(events, rule) == "DISABLED"


def test_fixed_policy_stages_are_switched_in_their_stage_file(aws):
    events, ssm, rule = aws
    with pytest.raises(nightly.NightlyError, match="infra/stages/dev.json"):
        nightly.switch(load_stage("dev"), events, ssm, rule, True)
    result = CliRunner().invoke(app, ["nightly", "on", "--stage", "dev"])
    assert result.exit_code == 2 and "nightly_schedule DISABLED" in result.output


def test_nightly_command_switches_records_and_reports(aws):
    events, ssm, rule = aws
    runner = CliRunner()
    status = runner.invoke(app, ["nightly", "status", "--stage", "prod"])
    assert status.exit_code == 0, status.output
    assert "not set" in status.stdout and "is DISABLED" in status.stdout and "NightlyScheduleState=DISABLED" in status.stdout

    on = runner.invoke(app, ["nightly", "on", "--stage", "prod"])
    assert on.exit_code == 0, on.output
    assert _state(events, rule) == "ENABLED" and _flag(ssm) == "true"
    assert "NightlyScheduleState=ENABLED" in runner.invoke(app, ["nightly", "status", "--stage", "prod"]).stdout

    off = runner.invoke(app, ["nightly", "--stage", "prod", "off"])
    assert off.exit_code == 0, off.output
    assert _state(events, rule) == "DISABLED" and _flag(ssm) == "false"
    assert "kept by every deploy" in off.stdout


def test_nightly_command_without_a_stack(monkeypatch):
    fake_aws_env(monkeypatch)
    with mock_aws():
        result = CliRunner().invoke(app, ["nightly", "status", "--stage", "prod"])
    assert result.exit_code == 1 and "is not deployed in us-east-1" in result.output


def test_status_of_a_fixed_policy_stage(aws):
    events, ssm, rule = aws
    lines = nightly.status(load_stage("dev"), events, ssm, rule).lines()
    assert "not used" in lines[1] and lines[3].endswith("NightlyScheduleState=DISABLED")
