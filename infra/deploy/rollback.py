"""`disclosures rollback --stage X`: point every function's `live` alias back one version.

SAM publishes a new version of a function only when its code or configuration changed, and
CodeDeploy moves `live` to it. Rolling back moves `live` to the highest published version
below the one it serves now. If a canary is in progress (the alias routes a share of traffic
to a second version), rolling back simply ends the canary: all traffic goes to the stable
version the alias still names. Functions with a single version are reported, not touched.

A rollback happens outside CloudFormation, so the stack still declares the newer versions.
A later deploy leaves `live` where the rollback put it and reports it (`behind`): moving it
back would send all traffic to the version just rolled back, with no canary and no alarms.
New code publishes new versions, which CodeDeploy shifts to as usual; `deploy --roll-forward`
puts `live` back on the declared versions at once (`roll_forward`), after a false alarm.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from infra.local.template import Stack

ALIAS = "live"


@dataclass
class AliasMove:
    function: str
    from_version: str | None
    to_version: str | None
    action: str  # rolled_back | canary_cancelled | nothing_to_roll_back | no_alias | dry_run | rolled_forward | behind

    @property
    def moved(self) -> bool:
        return self.action in ("rolled_back", "canary_cancelled", "rolled_forward")

    def describe(self) -> str:
        if self.action == "rolled_back":
            return f"{self.function}: {ALIAS} {self.from_version} -> {self.to_version}"
        if self.action == "rolled_forward":
            return f"{self.function}: {ALIAS} {self.from_version} -> {self.to_version} (the version the stack declares)"
        if self.action == "behind":
            return f"{self.function}: {ALIAS} on version {self.from_version}, the stack declares {self.to_version}"
        if self.action == "canary_cancelled":
            return f"{self.function}: canary of version {self.from_version} cancelled, {ALIAS} stays on {self.to_version}"
        if self.action == "dry_run":
            return f"{self.function}: would move {ALIAS} {self.from_version} -> {self.to_version}"
        if self.action == "no_alias":
            return f"{self.function}: no {ALIAS} alias"
        return f"{self.function}: nothing to roll back ({ALIAS} is on version {self.from_version}, the oldest)"


def published_versions(lam, function: str) -> list[int]:
    versions: list[int] = []
    for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=function):
        versions += [int(v["Version"]) for v in page["Versions"] if v["Version"] != "$LATEST"]
    return sorted(set(versions))


def previous_version(versions: Iterable[int], current: int) -> int | None:
    older = [v for v in versions if v < current]
    return max(older) if older else None


def rollback_function(lam, function: str, alias: str = ALIAS, dry_run: bool = False) -> AliasMove:
    try:
        current = lam.get_alias(FunctionName=function, Name=alias)
    except lam.exceptions.ResourceNotFoundException:
        return AliasMove(function, None, None, "no_alias")
    version = current["FunctionVersion"]
    weights = (current.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    if weights:
        canary = ",".join(sorted(weights))
        if not dry_run:
            lam.update_alias(FunctionName=function, Name=alias, FunctionVersion=version,
                             RoutingConfig={"AdditionalVersionWeights": {}})
        return AliasMove(function, canary, version, "dry_run" if dry_run else "canary_cancelled")
    if not version.isdigit():  # $LATEST: nothing published to go back to
        return AliasMove(function, version, None, "nothing_to_roll_back")
    target = previous_version(published_versions(lam, function), int(version))
    if target is None:
        return AliasMove(function, version, None, "nothing_to_roll_back")
    if dry_run:
        return AliasMove(function, version, str(target), "dry_run")
    lam.update_alias(FunctionName=function, Name=alias, FunctionVersion=str(target),
                     RoutingConfig={"AdditionalVersionWeights": {}})
    return AliasMove(function, version, str(target), "rolled_back")


def rollback(lam, functions: Iterable[str], alias: str = ALIAS, dry_run: bool = False) -> list[AliasMove]:
    return [rollback_function(lam, name, alias, dry_run) for name in functions]


def template_function_names(stack: Stack) -> list[str]:
    """Physical names of the template's functions, as the template names them."""
    return sorted(stack.physical_name(logical_id) for logical_id in stack.of_type("AWS::Serverless::Function"))


def declared_versions(cfn, stack_name: str) -> dict[str, str]:
    """Function name -> the version the stack declares for it (SAM's AutoPublishAlias version resource)."""
    declared: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for r in page["StackResourceSummaries"]:
            if r["ResourceType"] != "AWS::Lambda::Version":
                continue
            # arn:aws:lambda:<region>:<account>:function:<name>:<version>
            *_, function, version = r["PhysicalResourceId"].split(":")
            if version.isdigit() and int(version) > int(declared.get(function, "0")):
                declared[function] = version
    return declared


def behind(lam, declared: dict[str, str], alias: str = ALIAS) -> list[AliasMove]:
    """Functions whose `live` is not (only) on the version the stack declares: a rollback moved it."""
    lagging = []
    for function, version in sorted(declared.items()):
        try:
            current = lam.get_alias(FunctionName=function, Name=alias)
        except lam.exceptions.ResourceNotFoundException:
            continue
        weights = (current.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        if current["FunctionVersion"] != version or weights:
            lagging.append(AliasMove(function, current["FunctionVersion"], version, "behind"))
    return lagging


def roll_forward(lam, declared: dict[str, str], alias: str = ALIAS) -> list[AliasMove]:
    """Put `live` back on the declared version wherever a rollback moved it; report each move."""
    moves = []
    for lag in behind(lam, declared, alias):
        lam.update_alias(FunctionName=lag.function, Name=alias, FunctionVersion=lag.to_version,
                         RoutingConfig={"AdditionalVersionWeights": {}})
        moves.append(AliasMove(lag.function, lag.from_version, lag.to_version, "rolled_forward"))
    return moves


def stop_deployments(codedeploy: Any, application: str) -> list[str]:
    """Stop CodeDeploy deployments in progress (with their automatic rollback) before moving aliases."""
    stopped = []
    ids = codedeploy.list_deployments(applicationName=application,
                                      includeOnlyStatuses=["Created", "Queued", "InProgress", "Ready"]).get("deployments", [])
    for deployment_id in ids:
        codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
        stopped.append(deployment_id)
    return stopped
