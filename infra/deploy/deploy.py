"""`disclosures deploy --stage X`: package, upload, change set, execute, wait, print the outputs.

The same steps as `sam build && sam deploy`, in Python with boto3 (no Docker, no SAM CLI):

1. build the artifact (code + Lambda-platform dependencies) and upload it, content-addressed,
   to the artifacts bucket `<stack>-artifacts-<account>-<region>` (created on first use);
2. upload the template (JSON, CodeUri pointing at the artifact) next to it;
3. resolve the parameters: the stage file's values, SSM parameters named by the stage file,
   and NightlyScheduleState (DISABLED on prod until `verify` has seen a successful smoke run);
4. create a change set (CREATE for a new stack, UPDATE otherwise), wait for it, execute it,
   wait for the stack; an empty change set is not an error.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from infra.deploy import package
from infra.deploy.stages import StageConfig
from infra.local.template import TEMPLATE_PATH, load

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
UNRECOVERABLE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED")


class DeployError(RuntimeError):
    pass


@dataclass
class DeployResult:
    stack_name: str
    change_set_type: str
    status: str
    no_changes: bool = False
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    template_url: str = ""
    changes: list[str] = field(default_factory=list)


def artifacts_bucket_name(stack_name: str, account: str, region: str) -> str:
    return f"{stack_name}-artifacts-{account}-{region}"[:63].rstrip("-")


def ensure_bucket(s3, name: str, region: str) -> None:
    """Create the private, versioned, encrypted artifacts bucket unless it exists."""
    try:
        s3.head_bucket(Bucket=name)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def upload_if_missing(s3, bucket: str, key: str, body: bytes) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return True


def nightly_state(config: StageConfig, ssm) -> str:
    """ENABLED/DISABLED for the nightly rule: on an after-first-run stage, what `verify` recorded."""
    if config.nightly_schedule in ("ENABLED", "DISABLED"):
        return config.nightly_schedule
    try:
        value = ssm.get_parameter(Name=config.nightly_flag_parameter)["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            return "DISABLED"
        raise
    return "ENABLED" if value.strip().lower() == "true" else "DISABLED"


def resolve_parameters(config: StageConfig, ssm, declared: set[str]) -> dict[str, str]:
    """The stage's parameter values; SSM-backed ones are read (decrypted) now and never printed.

    Only parameters the template declares are passed: a stage file may name an SSM parameter
    ahead of the template parameter that uses it.
    """
    values = {"Stage": config.stage, **config.parameters}
    for name, ssm_name in config.ssm_parameters.items():
        if name not in declared:
            continue
        try:
            values[name] = ssm.get_parameter(Name=ssm_name, WithDecryption=True)["Parameter"]["Value"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ParameterNotFound":
                raise DeployError(f"SSM parameter {ssm_name} (for {name}) does not exist: create it first "
                                  f"(aws ssm put-parameter --name {ssm_name} --type SecureString --value ...)") from exc
            raise
    if "NightlyScheduleState" in declared:
        values["NightlyScheduleState"] = nightly_state(config, ssm)
    unknown = sorted(set(values) - declared)
    if unknown:
        raise DeployError(f"the stage file sets parameters the template does not declare: {unknown}")
    return values


def stack_status(cfn, stack_name: str) -> str | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
    except ClientError as exc:
        if "does not exist" in exc.response["Error"]["Message"]:
            return None
        raise


def deploy_template(cfn, stack_name: str, template_url: str, parameters: dict[str, str], *,
                    tags: dict[str, str] | None = None, delay: int = 10, max_attempts: int = 360,
                    change_set_name: str | None = None, log: Callable[[str], None] = lambda _m: None) -> DeployResult:
    """Create and execute a change set for the stack; wait until it is done."""
    status = stack_status(cfn, stack_name)
    if status in UNRECOVERABLE:
        raise DeployError(f"stack {stack_name} is {status}: see docs/deployment.md (Rolling back the template) "
                          f"before deploying again")
    change_set_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    name = change_set_name or time.strftime("deploy-%Y%m%d-%H%M%S", time.gmtime())
    result = DeployResult(stack_name=stack_name, change_set_type=change_set_type, status="",
                          parameters={k: ("***" if k.endswith(("Email", "Secret", "Token")) else v)
                                      for k, v in parameters.items()},
                          template_url=template_url)
    log(f"creating change set {name} ({change_set_type}) for {stack_name}")
    cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName=name,
        ChangeSetType=change_set_type,
        TemplateURL=template_url,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())],
        Capabilities=CAPABILITIES,
        Tags=[{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())],
    )
    waiter_config = {"Delay": delay, "MaxAttempts": max_attempts}
    try:
        cfn.get_waiter("change_set_create_complete").wait(StackName=stack_name, ChangeSetName=name,
                                                          WaiterConfig=waiter_config)
    except WaiterError as exc:
        described = cfn.describe_change_set(StackName=stack_name, ChangeSetName=name)
        reason = described.get("StatusReason", "")
        if any(marker in reason for marker in NO_CHANGES):
            cfn.delete_change_set(StackName=stack_name, ChangeSetName=name)
            result.no_changes = True
            result.status = status or ""
            result.outputs = stack_outputs(cfn, stack_name)
            log("no changes to deploy")
            return result
        raise DeployError(f"change set {name} failed: {reason}") from exc
    described = cfn.describe_change_set(StackName=stack_name, ChangeSetName=name)
    result.changes = [
        f"{c['ResourceChange']['Action']} {c['ResourceChange']['LogicalResourceId']} ({c['ResourceChange']['ResourceType']})"
        for c in described.get("Changes", []) if "ResourceChange" in c
    ]
    log(f"executing {len(result.changes)} change(s)")
    cfn.execute_change_set(StackName=stack_name, ChangeSetName=name)
    waiter = "stack_create_complete" if change_set_type == "CREATE" else "stack_update_complete"
    try:
        cfn.get_waiter(waiter).wait(StackName=stack_name, WaiterConfig=waiter_config)
    except WaiterError as exc:
        raise DeployError(f"stack {stack_name} did not deploy: {stack_status(cfn, stack_name)}; "
                          f"CloudFormation rolled the template back (see the stack's events)") from exc
    result.status = stack_status(cfn, stack_name) or ""
    result.outputs = stack_outputs(cfn, stack_name)
    return result


def stack_outputs(cfn, stack_name: str) -> dict[str, str]:
    try:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError:
        return {}
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def package_and_upload(config: StageConfig, clients: Callable[[str], Any], build_dir: Path, *,
                       deps_dir: Path | None = None, template_path: Path = TEMPLATE_PATH,
                       log: Callable[[str], None] = lambda _m: None) -> tuple[str, package.Artifact]:
    """Build the artifact, upload it and the packaged template; return the template's URL."""
    account = clients("sts").get_caller_identity()["Account"]
    bucket = artifacts_bucket_name(config.stack_name, account, config.region)
    s3 = clients("s3")
    ensure_bucket(s3, bucket, config.region)
    artifact = package.build_code_zip(build_dir, deps_dir=deps_dir)
    code_key = config.artifacts_prefix + artifact.key
    uploaded = upload_if_missing(s3, bucket, code_key, artifact.path.read_bytes())
    log(f"artifact s3://{bucket}/{code_key} ({artifact.size / 2**20:.1f} MiB, {'uploaded' if uploaded else 'unchanged'})")
    body = package.template_json(package.package_template(bucket, code_key, template_path))
    template_key = f"{config.artifacts_prefix}templates/{hashlib.sha256(body).hexdigest()}.json"
    upload_if_missing(s3, bucket, template_key, body)
    host = "s3.amazonaws.com" if config.region == "us-east-1" else f"s3.{config.region}.amazonaws.com"
    return f"https://{bucket}.{host}/{template_key}", artifact


def _get(ssm, name: str) -> str | None:
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise


def record_release(config: StageConfig, ssm, template_url: str, parameters: dict[str, str]) -> None:
    """Remember the deployed template (and the one before it) for `rollback --template`."""
    last = _get(ssm, f"{config.ssm_prefix}/last-template-url")
    if last and last != template_url:
        ssm.put_parameter(Name=f"{config.ssm_prefix}/previous-template-url", Value=last, Type="String", Overwrite=True)
    ssm.put_parameter(Name=f"{config.ssm_prefix}/last-template-url", Value=template_url, Type="String", Overwrite=True)


def deploy(config: StageConfig, clients: Callable[[str], Any], build_dir: Path, *, deps_dir: Path | None = None,
           template_path: Path = TEMPLATE_PATH, template_url: str | None = None, delay: int = 10,
           log: Callable[[str], None] = lambda _m: None) -> DeployResult:
    """Package and deploy the working tree; or, with template_url, deploy an earlier packaged release."""
    if template_url is None:
        template_url, _artifact = package_and_upload(config, clients, build_dir, deps_dir=deps_dir,
                                                     template_path=template_path, log=log)
    declared = set(load(template_path).get("Parameters", {}))
    ssm = clients("ssm")
    parameters = resolve_parameters(config, ssm, declared)
    log(f"NightlyScheduleState={parameters.get('NightlyScheduleState')}")
    result = deploy_template(clients("cloudformation"), config.stack_name, template_url, parameters,
                             tags=config.tags, delay=delay, log=log)
    if not result.no_changes:
        record_release(config, ssm, template_url, parameters)
    return result


def previous_template_url(config: StageConfig, ssm) -> str | None:
    return _get(ssm, f"{config.ssm_prefix}/previous-template-url")
