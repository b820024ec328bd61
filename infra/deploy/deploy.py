"""`disclosures deploy --stage X`: package, upload, change set, execute, wait, print the outputs.

The same steps as `sam build && sam deploy`, in Python with boto3 (no Docker, no SAM CLI):

1. preflight, everything that fails in seconds, before minutes of building and uploading:
   the credentials (and the stage's account, if pinned), a stack CloudFormation can update,
   and the parameters: the stage file's values, the SSM parameters it names, and
   NightlyScheduleState (infra/deploy/nightly.py), for the parameters the deployed template
   declares (an earlier release's, read from the artifacts bucket, with --template-url);
2. build the artifact (code + Lambda-platform dependencies) and upload it, content-addressed,
   to the artifacts bucket `<stack>-artifacts-<account>-<region>` (created on first use);
3. upload the template (JSON, CodeUri pointing at the artifact) next to it;
4. create a change set (CREATE for a new stack, UPDATE otherwise), wait for it, execute it,
   wait for the stack; an empty change set is not an error;
5. report every `live` alias a `rollback` left behind the version the stack declares (moved back
   onto it only with --roll-forward), and record the release (template URL and git commit) in SSM.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from infra.deploy import nightly, package, rollback
from infra.deploy.stages import StageConfig
from infra.local.template import TEMPLATE_PATH, load
from services.publish_api.publish import upload_static

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
UNRECOVERABLE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED")
RECOVERY_HEADING = "A stack that cannot be updated"  # a heading of docs/deployment.md
UNKNOWN_COMMIT = "unknown"
# Virtual-hosted (<bucket>.s3[.<region>].amazonaws.com, what package_and_upload writes) or
# path-style (s3[.<region>].amazonaws.com/<bucket>) S3 hosts.
S3_HOST = re.compile(r"(?:(?P<bucket>[a-z0-9.-]+)\.)?s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?")


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
    commit: str = UNKNOWN_COMMIT
    rolled_forward: list[rollback.AliasMove] = field(default_factory=list)  # with roll_forward
    behind: list[rollback.AliasMove] = field(default_factory=list)  # without: left where a rollback put them
    site_files: int = 0  # website files uploaded (changed ones only)


@dataclass
class Preflight:
    account: str
    parameters: dict[str, str]
    not_declared: list[str] = field(default_factory=list)  # stage parameters an earlier template lacks


def aws_flags(region: str, profile: str | None) -> str:
    """The options that make an `aws ...` command in a message act on the stage's account and region."""
    return f"--region {region}" + (f" --profile {profile}" if profile else "")


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


def resolve_parameters(config: StageConfig, ssm, declared: set[str], profile: str | None = None, *,
                       earlier_release: bool = False) -> dict[str, str]:
    """The stage's parameter values; SSM-backed ones are read (decrypted) now and never printed.

    Only parameters the template declares are passed: a stage file may name an SSM parameter
    ahead of the template parameter that uses it, and an earlier release's template
    (`earlier_release`) may predate plain ones too; for the working tree's template a plain one
    it does not declare is a mistake in the stage file.
    """
    values = {"Stage": config.stage, **config.parameters}
    missing = []
    for name, ssm_name in config.ssm_parameters.items():
        if name not in declared:
            continue
        try:
            values[name] = ssm.get_parameter(Name=ssm_name, WithDecryption=True)["Parameter"]["Value"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ParameterNotFound":
                raise
            missing.append((name, ssm_name))
    if missing:
        commands = [f"  aws ssm put-parameter --name {ssm_name} --type SecureString --value '<{name}>' "
                    f"{aws_flags(config.region, profile)}" for name, ssm_name in missing]
        raise DeployError(f"stage {config.stage}: SSM parameter "
                          + ", ".join(f"{ssm_name} (for {name})" for name, ssm_name in missing)
                          + f" does not exist in {config.region}. Nothing was built or uploaded; create it, "
                          "then deploy again:\n" + "\n".join(commands))
    if "NightlyScheduleState" in declared:
        values["NightlyScheduleState"] = nightly.deploy_state(config, ssm)
    unknown = sorted(set(values) - declared)
    if unknown and not earlier_release:
        raise DeployError(f"the stage file sets parameters the template does not declare: {unknown}")
    return {name: value for name, value in values.items() if name in declared}


def caller_account(config: StageConfig, sts, profile: str | None = None) -> str:
    """The credentials' account; refused if the stage file pins another one."""
    try:
        account = sts.get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as exc:
        raise DeployError(f"no usable AWS credentials for stage {config.stage} ({exc}): pass --profile or set "
                          f"AWS_PROFILE (check: aws sts get-caller-identity {aws_flags(config.region, profile)})") from exc
    if config.account_id and account != config.account_id:
        raise DeployError(f"these credentials are for account {account}, but stage {config.stage} is account "
                          f"{config.account_id} (infra/stages/{config.stage}.json): use the {config.stage} profile")
    return account


def unrecoverable_message(stack_name: str, status: str, region: str, profile: str | None = None) -> str:
    where = f"--stack-name {stack_name} {aws_flags(region, profile)}"
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        todo = ("its first creation failed, and such a stack can only be deleted. Read why in "
                f"`aws cloudformation describe-stack-events {where}`, delete it with "
                f"`aws cloudformation delete-stack {where}` and "
                f"`aws cloudformation wait stack-delete-complete {where}`, then deploy again")
    elif status == "UPDATE_ROLLBACK_FAILED":
        todo = (f"finish its rollback with `aws cloudformation continue-update-rollback {where}` (add "
                "--resources-to-skip for resources that cannot be restored), then deploy again")
    else:
        todo = (f"delete it again with `aws cloudformation delete-stack {where}` (add --retain-resources "
                "for what cannot be deleted), then deploy again")
    return f'stack {stack_name} is {status}: {todo}. See docs/deployment.md, "{RECOVERY_HEADING}".'


def stack_status(cfn, stack_name: str) -> str | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
    except ClientError as exc:
        if "does not exist" in exc.response["Error"]["Message"]:
            return None
        raise


def deployable_status(cfn, stack_name: str, profile: str | None = None) -> str | None:
    """The stack's status (None: no stack yet); a stack CloudFormation cannot update is refused."""
    status = stack_status(cfn, stack_name)
    if status in UNRECOVERABLE:
        raise DeployError(unrecoverable_message(stack_name, status, cfn.meta.region_name, profile))
    return status


def deploy_template(cfn, stack_name: str, template_url: str, parameters: dict[str, str], *,
                    tags: dict[str, str] | None = None, delay: int = 10, max_attempts: int = 360,
                    change_set_name: str | None = None, profile: str | None = None,
                    log: Callable[[str], None] = lambda _m: None) -> DeployResult:
    """Create and execute a change set for the stack; wait until it is done."""
    status = deployable_status(cfn, stack_name, profile)  # again: packaging took minutes
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


def package_and_upload(config: StageConfig, clients: Callable[[str], Any], build_dir: Path, account: str, *,
                       deps_dir: Path | None = None, template_path: Path = TEMPLATE_PATH,
                       log: Callable[[str], None] = lambda _m: None) -> tuple[str, package.Artifact]:
    """Build the artifact, upload it and the packaged template; return the template's URL."""
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


def git_commit(root: Path = package.PROJECT_ROOT) -> str:
    """The working tree's commit; `-dirty` if what the deploy packages differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--", *package.CODE_PACKAGES, "infra/template.yaml", "pyproject.toml")
    except (OSError, subprocess.CalledProcessError):
        return UNKNOWN_COMMIT
    return f"{sha}-dirty" if dirty else sha


def recorded_commit(config: StageConfig, ssm, template_url: str) -> str:
    """The commit recorded with a template deployed before (rollback --template); else unknown."""
    for slot in ("last", "previous"):
        if _get(ssm, f"{config.ssm_prefix}/{slot}-template-url") == template_url:
            return _get(ssm, f"{config.ssm_prefix}/{slot}-commit") or UNKNOWN_COMMIT
    return UNKNOWN_COMMIT


def record_release(config: StageConfig, ssm, template_url: str, commit: str) -> None:
    """Remember the deployed template and its commit (and the ones before) for `rollback --template`."""
    prefix = config.ssm_prefix
    last = _get(ssm, f"{prefix}/last-template-url")
    if last and last != template_url:
        ssm.put_parameter(Name=f"{prefix}/previous-template-url", Value=last, Type="String", Overwrite=True)
        ssm.put_parameter(Name=f"{prefix}/previous-commit", Value=_get(ssm, f"{prefix}/last-commit") or UNKNOWN_COMMIT,
                          Type="String", Overwrite=True)
    ssm.put_parameter(Name=f"{prefix}/last-template-url", Value=template_url, Type="String", Overwrite=True)
    ssm.put_parameter(Name=f"{prefix}/last-commit", Value=commit, Type="String", Overwrite=True)


def template_location(template_url: str) -> tuple[str, str]:
    """Bucket and key of an S3 template URL."""
    parsed = urlparse(template_url)
    match = S3_HOST.fullmatch(parsed.hostname or "") if parsed.scheme == "https" else None
    path = unquote(parsed.path).lstrip("/")
    if match and match["bucket"]:
        bucket, key = match["bucket"], path
    else:
        bucket, _, key = path.partition("/")
    if not match or not bucket or not key:
        raise DeployError(f"{template_url} is not the S3 URL of a template: use one of the artifacts bucket's, "
                          "https://<bucket>.s3.amazonaws.com/<stack>/templates/<sha256>.json")
    return bucket, key


def template_parameters(s3, template_url: str) -> set[str]:
    """The parameters a packaged template (JSON, in the artifacts bucket) declares."""
    bucket, key = template_location(template_url)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        raise DeployError(f"cannot read the template {template_url} (s3://{bucket}/{key}): "
                          f"{exc.response['Error']['Code']}") from exc
    try:
        return set(json.loads(body).get("Parameters", {}))
    except ValueError as exc:
        raise DeployError(f"{template_url} is not a packaged template (JSON)") from exc


def preflight(config: StageConfig, clients: Callable[[str], Any], *, template_path: Path = TEMPLATE_PATH,
              template_url: str | None = None, profile: str | None = None) -> Preflight:
    """The checks that take seconds, so a deploy fails before it builds and uploads anything.

    The parameters are those of the template deployed: the working tree's, or the one at
    template_url (an earlier release may lack parameters added since, and CloudFormation
    refuses a parameter its template does not declare).
    """
    account = caller_account(config, clients("sts"), profile)
    deployable_status(clients("cloudformation"), config.stack_name, profile)
    if template_url is None:
        declared = set(load(template_path).get("Parameters", {}))
        return Preflight(account, resolve_parameters(config, clients("ssm"), declared, profile))
    declared = template_parameters(clients("s3"), template_url)
    parameters = resolve_parameters(config, clients("ssm"), declared, profile, earlier_release=True)
    return Preflight(account, parameters, sorted({*config.parameters, *config.ssm_parameters} - declared))


def deploy(config: StageConfig, clients: Callable[[str], Any], build_dir: Path, *, deps_dir: Path | None = None,
           template_path: Path = TEMPLATE_PATH, template_url: str | None = None, ready: Preflight | None = None,
           roll_forward: bool = False, profile: str | None = None, delay: int = 10,
           log: Callable[[str], None] = lambda _m: None) -> DeployResult:
    """Package and deploy the working tree; or, with template_url, deploy an earlier packaged release.

    `ready`: a preflight the caller already ran (the CLI runs it before installing dependencies).
    `roll_forward`: put every `live` alias a rollback moved back on the version the stack
    declares; without it they are left where they are and reported (`behind`).
    """
    ready = ready or preflight(config, clients, template_path=template_path, template_url=template_url,
                               profile=profile)
    ssm = clients("ssm")
    packaged_here = template_url is None
    if template_url is None:
        template_url, _artifact = package_and_upload(config, clients, build_dir, ready.account, deps_dir=deps_dir,
                                                     template_path=template_path, log=log)
        commit = git_commit()
    else:
        commit = recorded_commit(config, ssm, template_url)
    log(f"NightlyScheduleState={ready.parameters.get('NightlyScheduleState')}")
    if ready.not_declared:
        log(f"not passed (the template does not declare them): {', '.join(ready.not_declared)}")
    cfn = clients("cloudformation")
    result = deploy_template(cfn, config.stack_name, template_url, ready.parameters,
                             tags=config.tags, delay=delay, profile=profile, log=log)
    result.commit = commit
    declared = rollback.declared_versions(cfn, config.stack_name)
    if roll_forward:
        result.rolled_forward = rollback.roll_forward(clients("lambda"), declared)
        for move in result.rolled_forward:
            log(f"rolled forward {move.describe()}")
    else:
        # Not moved: all traffic would go at once to the version a rollback took it off, without
        # CodeDeploy's canary and alarms, whatever this deploy changed.
        result.behind = rollback.behind(clients("lambda"), declared)
    if packaged_here and result.outputs.get("SiteBucketName"):
        # The website's files go out with the code that serves them, not only with the next run
        # (publish_api uploads them too); an earlier release's template keeps the files it has.
        result.site_files = upload_static(clients("s3"), result.outputs["SiteBucketName"])
        log(f"website files uploaded: {result.site_files}")
    record_release(config, ssm, template_url, commit)  # also when unchanged: the same release, maybe a newer commit
    return result


def behind_message(config: StageConfig, result: DeployResult, profile: str | None = None) -> str:
    """The aliases a rollback left behind the stack's versions, and the two ways on."""
    flags = f" --profile {profile}" if profile else ""
    return "\n".join([
        f"{len(result.behind)} live alias(es) are not on the version the stack declares (a `disclosures rollback` "
        "moved them); this deploy left them there:",
        *(f"  {move.describe()}" for move in result.behind),
        "To proceed: deploy a fixed release (new code publishes new versions, and CodeDeploy shifts traffic to "
        "them with its canary and alarms); or, if the rollback was a false alarm, put live back on the declared "
        "versions at once (all traffic, no canary), redeploying this same release:",
        f"  disclosures deploy --stage {config.stage}{flags} --template-url {result.template_url} --roll-forward",
    ])


def previous_template_url(config: StageConfig, ssm) -> str | None:
    return _get(ssm, f"{config.ssm_prefix}/previous-template-url")


def release_tag_hint(config: StageConfig, ssm) -> str:
    """What to tag once a deploy is verified: the commit the deploy recorded."""
    commit = _get(ssm, f"{config.ssm_prefix}/last-commit") or UNKNOWN_COMMIT
    if commit == UNKNOWN_COMMIT or commit.endswith("-dirty"):
        return (f"deployed commit: {commit} (uncommitted changes or no git checkout): nothing to tag; "
                f"commit, deploy and verify again to make a release")
    tag = f"release-{time.strftime('%Y%m%d', time.gmtime())}-{commit[:7]}"
    return f"deployed commit {commit}; tag the release: git tag {tag} {commit} && git push origin {tag}"
