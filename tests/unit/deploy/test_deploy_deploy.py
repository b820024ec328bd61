"""The deploy's AWS calls: S3, SSM, STS and Lambda against moto (in process); CloudFormation, whose
SAM transform moto does not run, with botocore's Stubber checking every call and its parameters."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws
from typer.testing import CliRunner

from infra.cli import deploy_cmd
from infra.cli.main import app
from infra.deploy import deploy as d
from infra.deploy import package, rollback
from infra.deploy.stages import load_stage
from tests.unit.deploy.helpers import fake_aws_env, publish_release

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


def _versions(stubber, declared=None):
    """list_stack_resources after the deploy: SAM's version resource of each function."""
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": f"F{i}Version", "ResourceType": "AWS::Lambda::Version", "LastUpdatedTimestamp": NOW,
         "ResourceStatus": "CREATE_COMPLETE", "PhysicalResourceId": f"arn:aws:lambda:us-east-1:123456789012:function:{fn}:{v}"}
        for i, (fn, v) in enumerate(sorted((declared or {}).items()))]}, {"StackName": STACK})


@pytest.fixture
def fixed_change_set_name(monkeypatch):
    original = d.deploy_template
    urls = []

    def named(*args, **kwargs):
        urls.append(args[2])
        return original(*args, **{**kwargs, "change_set_name": "cs", "delay": 1})

    monkeypatch.setattr(d, "deploy_template", named)
    return urls


def _expect_deploy(stubber, change_set_type, status, params=ANY, outputs=None):
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
    stubber.add_response("describe_stacks", _stack(status, outputs or {"ApiUrl": "https://api.example"}), {"StackName": STACK})


def _expect_empty_change_set(stubber):
    """An update whose change set CloudFormation finds empty: deleted, the stack left as it is."""
    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})
    stubber.add_response("create_change_set", {"Id": "cs-arn"}, None)
    failed = {"Status": "FAILED", "StatusReason": "The submitted information didn't contain changes."}
    stubber.add_response("describe_change_set", failed, {"StackName": STACK, "ChangeSetName": "cs"})
    stubber.add_response("describe_change_set", failed, {"StackName": STACK, "ChangeSetName": "cs"})
    stubber.add_response("delete_change_set", {}, {"StackName": STACK, "ChangeSetName": "cs"})


def test_first_deploy_creates_the_stack_from_a_change_set(aws, tmp_path, fixed_change_set_name):
    clients, stubber = aws
    _prod_parameters(clients)
    _missing(stubber)  # preflight
    _missing(stubber)  # the change set's type
    expected = [{"ParameterKey": "AlertEmail", "ParameterValue": "ops@example.org"},
                {"ParameterKey": "ClerkBaseUrl", "ParameterValue": "https://disclosures-clerk.house.gov"},
                {"ParameterKey": "MaxReceiveCount", "ParameterValue": "3"},
                {"ParameterKey": "NightlyScheduleState", "ParameterValue": "DISABLED"},
                {"ParameterKey": "OcrImageUri", "ParameterValue": OCR_IMAGE},
                {"ParameterKey": "Stage", "ParameterValue": "prod"}]
    outputs = {"ApiUrl": "https://api.example", "SiteBucketName": "site-bucket"}
    _expect_deploy(stubber, "CREATE", "CREATE_COMPLETE", expected, outputs)
    _versions(stubber)
    clients("s3").create_bucket(Bucket="site-bucket")
    result = d.deploy(load_stage("prod"), clients, tmp_path, deps_dir=None)

    assert result.change_set_type == "CREATE" and result.status == "CREATE_COMPLETE"
    assert result.outputs == outputs
    # The website is there before the first run, from the code just deployed.
    site = {o["Key"] for o in clients("s3").list_objects_v2(Bucket="site-bucket")["Contents"]}
    assert "index.html" in site and result.site_files == len(site)
    assert result.changes == ["Add DiscoverFunction (AWS::Lambda::Function)"]
    bucket = d.artifacts_bucket_name(STACK, "123456789012", "us-east-1")
    s3 = clients("s3")
    stored = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    code = [k for k in stored if k.startswith(f"{STACK}/code/")]
    templates = [k for k in stored if k.startswith(f"{STACK}/templates/")]
    assert len(code) == 1 and len(templates) == 1
    assert fixed_change_set_name == [f"https://{bucket}.s3.amazonaws.com/{templates[0]}"]
    template = json.loads(s3.get_object(Bucket=bucket, Key=templates[0])["Body"].read())
    assert template["Globals"]["Function"]["CodeUri"] == {"Bucket": bucket, "Key": code[0]}
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
    ssm = clients("ssm")
    assert ssm.get_parameter(Name="/congress-disclosures/prod/last-template-url")["Parameter"]["Value"] == fixed_change_set_name[0]
    assert ssm.get_parameter(Name="/congress-disclosures/prod/last-commit")["Parameter"]["Value"] == result.commit == d.git_commit()


def test_update_of_an_existing_stack_and_an_empty_change_set(aws):
    clients, stubber = aws
    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})
    _expect_deploy(stubber, "UPDATE", "UPDATE_COMPLETE")
    result = d.deploy_template(clients("cloudformation"), STACK, "https://t", {"Stage": "prod"}, change_set_name="cs", delay=1)
    assert result.change_set_type == "UPDATE" and result.status == "UPDATE_COMPLETE" and not result.no_changes

    _expect_empty_change_set(stubber)
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
    with pytest.raises(d.DeployError, match="ROLLBACK_COMPLETE.*delete-stack"):
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


def test_a_stack_cloudformation_cannot_update_is_refused_with_what_to_do(aws, tmp_path):
    clients, stubber = aws
    stubber.add_response("describe_stacks", _stack("ROLLBACK_COMPLETE"), {"StackName": STACK})
    with pytest.raises(d.DeployError) as refused:
        d.deploy(load_stage("prod"), clients, tmp_path / "build", profile="disclosures-prod")
    message = str(refused.value)
    where = f"--stack-name {STACK} --region us-east-1 --profile disclosures-prod"
    assert "its first creation failed" in message
    assert f"aws cloudformation describe-stack-events {where}" in message
    assert f"aws cloudformation delete-stack {where}" in message
    assert f"aws cloudformation wait stack-delete-complete {where}" in message
    assert not (tmp_path / "build").exists() and clients("s3").list_buckets()["Buckets"] == []  # refused before packaging
    # The section the message names exists.
    assert f"### {d.RECOVERY_HEADING}\n" in (package.PROJECT_ROOT / "docs" / "deployment.md").read_text()
    assert f'"{d.RECOVERY_HEADING}"' in message

    failed = d.unrecoverable_message(STACK, "UPDATE_ROLLBACK_FAILED", "eu-west-1")
    assert f"aws cloudformation continue-update-rollback --stack-name {STACK} --region eu-west-1" in failed
    assert "--profile" not in failed
    assert "delete-stack" in d.unrecoverable_message(STACK, "DELETE_FAILED", "us-east-1")


def test_missing_ssm_parameter_fails_before_anything_is_built_or_uploaded(aws, tmp_path):
    clients, stubber = aws
    _missing(stubber)
    with pytest.raises(d.DeployError) as refused:
        d.deploy(load_stage("dev"), clients, tmp_path / "build")
    message = str(refused.value)
    assert ("/congress-disclosures/dev/alert-email (for AlertEmail), /congress-disclosures/dev/ocr-image-uri "
            "(for OcrImageUri) does not exist in us-east-1") in message
    assert ("aws ssm put-parameter --name /congress-disclosures/dev/alert-email --type SecureString "
            "--value '<AlertEmail>' --region us-east-1") in message
    assert not (tmp_path / "build").exists() and clients("s3").list_buckets()["Buckets"] == []


def test_the_cli_checks_secrets_before_installing_dependencies(monkeypatch, tmp_path):
    fake_aws_env(monkeypatch)
    monkeypatch.setattr(package, "install_dependencies", lambda *_a, **_k: pytest.fail("pip ran before the preflight"))
    with mock_aws():
        result = CliRunner().invoke(app, ["deploy", "--stage", "dev", "--build-dir", str(tmp_path / "build")])
        assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []
    assert result.exit_code == 1
    assert "--name /congress-disclosures/dev/alert-email" in result.output and "--region us-east-1" in result.output


def test_credentials_are_checked_and_a_pinned_account_is_enforced(aws):
    clients, _ = aws
    prod = load_stage("prod")
    assert d.caller_account(prod, clients("sts")) == "123456789012"  # moto's account; prod pins none
    prod.account_id = "111122223333"
    with pytest.raises(d.DeployError, match="account 123456789012, but stage prod is account 111122223333"):
        d.caller_account(prod, clients("sts"))
    sts = boto3.client("sts", region_name="us-east-1")
    with Stubber(sts) as stub:
        stub.add_client_error("get_caller_identity", "ExpiredToken", "The security token included in the request is expired")
        with pytest.raises(d.DeployError, match="no usable AWS credentials.*get-caller-identity --region us-east-1 --profile p"):
            d.caller_account(prod, sts, "p")


OCR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/congress-disclosures-ocr@sha256:" + "0" * 64


def _prod_parameters(clients) -> None:
    """The SSM parameters prod's stage file names: the alerts address and the OCR image."""
    clients("ssm").put_parameter(Name="/congress-disclosures/prod/alert-email", Value="ops@example.org", Type="SecureString")
    clients("ssm").put_parameter(Name="/congress-disclosures/prod/ocr-image-uri", Value=OCR_IMAGE, Type="String")


def _packaged_template(clients, *, without=()) -> str:
    """A packaged template in the artifacts bucket, as package_and_upload leaves it; its URL.
    `without`: parameters added since that release."""
    bucket = d.artifacts_bucket_name(STACK, "123456789012", "us-east-1")
    d.ensure_bucket(clients("s3"), bucket, "us-east-1")
    template = package.package_template(bucket, f"{STACK}/code/{'0' * 64}.zip")
    for name in without:
        del template["Parameters"][name]
    body = package.template_json(template)
    key = f"{STACK}/templates/{hashlib.sha256(body).hexdigest()}.json"
    clients("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return f"https://{bucket}.s3.amazonaws.com/{key}"


def _redeploy_after_a_rollback(clients, stubber):
    """fn-a and fn-b on version 3, as the stack declares; `rollback` then moved fn-a's `live` to 2.
    The redeploy of the same release is an empty change set, which leaves the aliases alone."""
    lam = clients("lambda")
    publish_release(lam, clients("iam"), ["fn-a", "fn-b"], releases=3)
    rollback.rollback(lam, ["fn-a"])
    _prod_parameters(clients)
    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})  # preflight
    _expect_empty_change_set(stubber)
    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})
    _versions(stubber, {"fn-a": "3", "fn-b": "3"})
    return _packaged_template(clients)


def _live(clients, *functions):
    return [clients("lambda").get_alias(FunctionName=f, Name="live")["FunctionVersion"] for f in functions]


def test_a_deploy_after_a_rollback_leaves_the_aliases_and_says_how_to_proceed(aws, fixed_change_set_name):
    """Moving `live` back onto the stack's version would put the rolled-back code on all traffic at
    once, with no canary, whatever the deploy changed: the deploy reports it instead."""
    clients, stubber = aws
    url = _redeploy_after_a_rollback(clients, stubber)

    result = d.deploy(load_stage("prod"), clients, Path("unused"), template_url=url)
    assert result.no_changes and result.rolled_forward == []
    assert [m.describe() for m in result.behind] == ["fn-a: live on version 2, the stack declares 3"]
    assert _live(clients, "fn-a", "fn-b") == ["2", "3"]
    message = d.behind_message(load_stage("prod"), result, "disclosures-prod")
    assert "fn-a: live on version 2, the stack declares 3" in message and "fn-b" not in message
    assert "deploy a fixed release" in message
    assert (f"disclosures deploy --stage prod --profile disclosures-prod --template-url {url} --roll-forward"
            in message)


def test_roll_forward_puts_the_aliases_back_on_the_stacks_versions(aws, fixed_change_set_name):
    clients, stubber = aws
    url = _redeploy_after_a_rollback(clients, stubber)

    result = d.deploy(load_stage("prod"), clients, Path("unused"), template_url=url, roll_forward=True)
    assert [m.describe() for m in result.rolled_forward] == ["fn-a: live 2 -> 3 (the version the stack declares)"]
    assert result.behind == []
    assert _live(clients, "fn-a", "fn-b") == ["3", "3"]


@pytest.fixture
def cli(aws, monkeypatch):
    """`disclosures` with the fixture's clients (moto and the stubbed CloudFormation)."""
    clients, stubber = aws
    monkeypatch.setattr(deploy_cmd, "_aws_clients", lambda _config, _profile: clients)

    def invoke(*args):
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    return clients, stubber, invoke


def test_the_cli_reports_aliases_behind_and_rolls_them_forward_only_when_asked(cli, fixed_change_set_name):
    clients, stubber, invoke = cli
    url = _redeploy_after_a_rollback(clients, stubber)
    out = invoke("deploy", "--stage", "prod", "--template-url", url)
    assert "fn-a: live on version 2, the stack declares 3" in out
    assert f"--template-url {url} --roll-forward" in out
    assert _live(clients, "fn-a") == ["2"]

    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})  # preflight
    _expect_empty_change_set(stubber)
    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})
    _versions(stubber, {"fn-a": "3", "fn-b": "3"})
    out = invoke("deploy", "--stage", "prod", "--template-url", url, "--roll-forward")
    assert "1 live alias(es) rolled forward" in out and "--roll-forward" not in out
    assert _live(clients, "fn-a", "fn-b") == ["3", "3"]


def test_an_earlier_template_gets_only_the_parameters_it_declares(cli, fixed_change_set_name):
    """`rollback --template` to a release from before AlertEmail and MaxReceiveCount existed: the
    stage's values for them are not passed (CloudFormation would refuse the change set), and the
    SSM parameter behind AlertEmail is not even read (here it does not exist)."""
    clients, stubber, invoke = cli
    prod = load_stage("prod")
    older = _packaged_template(clients, without=("AlertEmail", "MaxReceiveCount", "OcrImageUri"))
    d.record_release(prod, clients("ssm"), older, "a" * 40)
    d.record_release(prod, clients("ssm"), "https://current", "b" * 40)
    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})  # preflight
    stubber.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK})
    _expect_deploy(stubber, "UPDATE", "UPDATE_COMPLETE", [
        {"ParameterKey": "ClerkBaseUrl", "ParameterValue": "https://disclosures-clerk.house.gov"},
        {"ParameterKey": "NightlyScheduleState", "ParameterValue": "DISABLED"},
        {"ParameterKey": "Stage", "ParameterValue": "prod"}])
    _versions(stubber)

    result = CliRunner().invoke(app, ["rollback", "--stage", "prod", "--template"])
    assert result.exit_code == 0, result.output
    assert fixed_change_set_name == [older]
    assert "not passed (the template does not declare them): AlertEmail, MaxReceiveCount, OcrImageUri" in result.output
    assert f"commit {'a' * 40}" in result.stdout


def test_template_urls_name_their_bucket_and_key(aws):
    key = "congress-disclosures-prod/templates/abc.json"
    for url in (f"https://b-1.s3.amazonaws.com/{key}", f"https://b-1.s3.eu-west-1.amazonaws.com/{key}",
                f"https://s3.amazonaws.com/b-1/{key}", f"https://s3.eu-west-1.amazonaws.com/b-1/{key}",
                f"https://b-1.s3-eu-west-1.amazonaws.com/{key}?versionId=3"):
        assert d.template_location(url) == ("b-1", key), url
    assert d.template_location(f"https://my.bucket.s3.amazonaws.com/{key}") == ("my.bucket", key)
    for url in ("https://t/1", f"http://b-1.s3.amazonaws.com/{key}", f"s3://b-1/{key}",
                "https://b-1.s3.amazonaws.com/", "https://s3.amazonaws.com/b-1", f"https://example.com/{key}"):
        with pytest.raises(d.DeployError, match="not the S3 URL of a template"):
            d.template_location(url)

    clients, _ = aws
    with pytest.raises(d.DeployError, match=r"cannot read the template .*\(s3://b-1/k\): NoSuchBucket"):
        d.template_parameters(clients("s3"), "https://b-1.s3.amazonaws.com/k")
    clients("s3").create_bucket(Bucket="b-1")
    clients("s3").put_object(Bucket="b-1", Key="k", Body=b"Resources: {}")
    with pytest.raises(d.DeployError, match="not a packaged template"):
        d.template_parameters(clients("s3"), "https://b-1.s3.amazonaws.com/k")


def test_secrets_are_read_from_ssm_and_masked(aws):
    clients, _ = aws
    ssm = clients("ssm")
    prod = load_stage("prod")
    declared = {"Stage", "ClerkBaseUrl", "MaxReceiveCount", "NightlyScheduleState", "AlertEmail"}
    with pytest.raises(d.DeployError, match="/congress-disclosures/prod/alert-email .*--region us-east-1 --profile p"):
        d.resolve_parameters(prod, ssm, declared, profile="p")
    ssm.put_parameter(Name="/congress-disclosures/prod/alert-email", Value="ops@example.org", Type="SecureString")
    values = d.resolve_parameters(prod, ssm, declared)
    assert values["AlertEmail"] == "ops@example.org" and values["NightlyScheduleState"] == "DISABLED"
    # A template without the parameter does not get it; a stage value the template lacks is an error.
    assert "AlertEmail" not in d.resolve_parameters(prod, ssm, declared - {"AlertEmail"})
    with pytest.raises(d.DeployError, match="does not declare"):
        d.resolve_parameters(prod, ssm, {"Stage"})


def test_release_history_keeps_the_previous_template_and_its_commit(aws):
    clients, _ = aws
    ssm = clients("ssm")
    prod = load_stage("prod")
    assert d.previous_template_url(prod, ssm) is None
    d.record_release(prod, ssm, "https://t/1", "a" * 40)
    d.record_release(prod, ssm, "https://t/2", "b" * 40)
    d.record_release(prod, ssm, "https://t/2", "c" * 40)  # same template, a later commit (docs only)
    assert d.previous_template_url(prod, ssm) == "https://t/1"
    # `rollback --template` deploys the previous URL: the commit recorded with it comes along.
    assert d.recorded_commit(prod, ssm, "https://t/1") == "a" * 40
    assert d.recorded_commit(prod, ssm, "https://t/2") == "c" * 40
    assert d.recorded_commit(prod, ssm, "https://elsewhere") == d.UNKNOWN_COMMIT
    hint = d.release_tag_hint(prod, ssm)
    assert "git tag release-" in hint and f"-ccccccc {'c' * 40} && git push origin release-" in hint
    d.record_release(prod, ssm, "https://t/3", "d" * 40 + "-dirty")
    assert "nothing to tag" in d.release_tag_hint(prod, ssm)
    assert ssm.get_parameter(Name="/congress-disclosures/prod/previous-commit")["Parameter"]["Value"] == "c" * 40


def test_the_commit_marks_uncommitted_changes_to_what_is_packaged(tmp_path):
    assert d.git_commit(tmp_path) == d.UNKNOWN_COMMIT  # not a git checkout

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "x.py").write_text("X = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "x")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert d.git_commit(tmp_path) == sha
    (tmp_path / "README.md").write_text("not packaged\n")
    assert d.git_commit(tmp_path) == sha
    (tmp_path / "services" / "y.py").write_text("Y = 1\n")
    assert d.git_commit(tmp_path) == f"{sha}-dirty"


def test_artifacts_bucket_outside_us_east_1_and_reuse(aws):
    clients, _ = aws
    s3 = boto3.client("s3", region_name="eu-west-1")
    d.ensure_bucket(s3, "b-eu", "eu-west-1")
    d.ensure_bucket(s3, "b-eu", "eu-west-1")  # exists: nothing to do
    assert s3.get_bucket_location(Bucket="b-eu")["LocationConstraint"] == "eu-west-1"
    assert d.upload_if_missing(s3, "b-eu", "k", b"x") is True
    assert d.upload_if_missing(s3, "b-eu", "k", b"x") is False
    assert len(d.artifacts_bucket_name("x" * 80, "123456789012", "us-east-1")) <= 63
