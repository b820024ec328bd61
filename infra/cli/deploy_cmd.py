"""`disclosures deploy | rollback | verify | nightly`: release the stack to AWS, undo a release,
check it, switch its nightly runs.

`--stage local` (rollback, verify) works on the stack started by `disclosures up` (or on any
emulator given with --endpoint); dev and prod use the stage files in infra/stages/ and the
AWS credentials of the environment (or --profile).
"""

from __future__ import annotations

import enum
import functools
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from infra.cli.console import console, out

StageOpt = Annotated[str, typer.Option("--stage", "-s", help="dev or prod (rollback/verify also: local)")]
ProfileOpt = Annotated[str | None, typer.Option(help="AWS profile (default: the environment's credentials)")]
EndpointOpt = Annotated[str | None, typer.Option(help="local: the emulator's URL (default: the `disclosures up` stack)")]


class NightlyAction(enum.StrEnum):
    on = "on"
    off = "off"
    status = "status"


def _aws_clients(config, profile: str | None):
    """Clients for the stage's region, whatever the profile's or the environment's region says."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile, region_name=config.region)
    except ProfileNotFound as exc:
        console.print(f"[red]{exc}: see docs/deployment.md (Prerequisites)[/red]")
        raise typer.Exit(2) from exc
    return functools.cache(session.client)


def _local_clients(endpoint: str):
    from infra.local.emulator import Emulator

    return functools.cache(Emulator(endpoint=endpoint).client)


def _local_target(endpoint: str | None, stack_name: str | None) -> dict[str, Any]:
    if endpoint:
        return {"endpoint": endpoint, "stack_name": stack_name or "disclosures-local", "http_url": None, "source_url": None}
    from infra.cli import local_stack

    try:
        return local_stack.read_state()
    except local_stack.NoStack as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _stage(stage: str):
    from infra.deploy.stages import StageError, load_stage

    try:
        return load_stage(stage)
    except StageError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _check_account(config, clients, profile: str | None) -> str:
    """Fail in seconds on missing credentials or another stage's account."""
    from infra.deploy import deploy as deploy_mod

    try:
        return deploy_mod.caller_account(config, clients("sts"), profile)
    except deploy_mod.DeployError as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc


def _stack_resources(cfn, stack_name: str) -> dict[str, tuple[str, str]]:
    """Logical id -> (physical id, type) of the deployed stack."""
    resources: dict[str, tuple[str, str]] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for r in page["StackResourceSummaries"]:
            resources[r["LogicalResourceId"]] = (r.get("PhysicalResourceId", ""), r["ResourceType"])
    return resources


def register(app: typer.Typer) -> None:
    @app.command()
    def deploy(
        stage: StageOpt,
        profile: ProfileOpt = None,
        deps_dir: Annotated[Path | None, typer.Option(help="Dependencies already installed for Lambda (skip pip)")] = None,
        build_dir: Annotated[Path | None, typer.Option(help="Where to build the artifact (default: a temp dir)")] = None,
        package_only: Annotated[bool, typer.Option(help="Build the artifact and template locally; no AWS calls, no upload")] = False,
        template_url: Annotated[str | None, typer.Option(help="Deploy this earlier packaged template (an S3 URL in the artifacts bucket) instead")] = None,
        roll_forward: Annotated[bool, typer.Option(help="Put every live alias a rollback moved back on the version the stack declares, at once (no canary): after a false alarm")] = False,
    ) -> None:
        """Package the code and deploy the template to a stage (CloudFormation change set)."""
        from infra.deploy import deploy as deploy_mod
        from infra.deploy import package

        if stage == "local":
            console.print("[red]the local stage is not deployed: use `disclosures up`[/red]")
            raise typer.Exit(2)
        config = _stage(stage)
        work = build_dir or Path(tempfile.mkdtemp(prefix="disclosures-build-"))
        clients = None if package_only else _aws_clients(config, profile)
        try:
            # Credentials, stack state and SSM parameters first: they fail in seconds, the pip install takes minutes.
            ready = None if clients is None else deploy_mod.preflight(config, clients, template_url=template_url,
                                                                      profile=profile)
            if deps_dir is None and template_url is None:
                deps_dir = work / "deps"
                console.print(f"installing runtime dependencies for Lambda ({package.LAMBDA_PLATFORM}) into {deps_dir}")
                package.install_dependencies(deps_dir)
            if package_only:
                artifact = package.build_code_zip(work, deps_dir=deps_dir)
                template = package.package_template("<artifacts-bucket>", config.artifacts_prefix + artifact.key)
                (work / "template.json").write_bytes(package.template_json(template))
                out.print(f"artifact  {artifact.path} ({artifact.size / 2**20:.1f} MiB zipped, "
                          f"{artifact.unzipped_size / 2**20:.1f} MiB unzipped)\ntemplate  {work / 'template.json'}")
                return
            assert clients is not None  # only a --package-only run has none, and it returned above
            result = deploy_mod.deploy(config, clients, work, deps_dir=deps_dir, template_url=template_url,
                                       ready=ready, roll_forward=roll_forward, profile=profile, log=console.print)
        except deploy_mod.DeployError as exc:
            console.print(f"[red]{exc}[/red]", soft_wrap=True)  # commands in it stay copyable
            raise typer.Exit(1) from exc
        for change in result.changes:
            console.print(f"  {change}")
        out.print(f"stack {result.stack_name}: {result.status}{' (no changes)' if result.no_changes else ''}; "
                  f"commit {result.commit}")
        _print_aliases(config, result, profile)
        for key, value in sorted(result.outputs.items()):
            out.print(f"  {key} = {value}")
        out.print(f"next: disclosures verify --stage {stage}")

    @app.command()
    def rollback(
        stage: StageOpt,
        profile: ProfileOpt = None,
        endpoint: EndpointOpt = None,
        stack_name: Annotated[str | None, typer.Option(help="local: the stack's name")] = None,
        dry_run: Annotated[bool, typer.Option(help="Only say what would move")] = False,
        template: Annotated[bool, typer.Option(help="Redeploy the previously deployed template instead")] = False,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Point every function's `live` alias back to its previous version (or redeploy the previous template)."""
        from infra.deploy import rollback as rb
        from infra.local.template import Stack, load

        if stage == "local":
            target = _local_target(endpoint, stack_name)
            clients = _local_clients(target["endpoint"])
            functions = rb.template_function_names(Stack(load(), name=target["stack_name"]))
        else:
            config = _stage(stage)
            clients = _aws_clients(config, profile)
            _check_account(config, clients, profile)
            if template:
                _rollback_template(config, clients, stage, profile)
                return
            resources = _stack_resources(clients("cloudformation"), config.stack_name)
            functions = sorted(p for p, t in resources.values() if t == "AWS::Lambda::Function")
            apps = [p for p, t in resources.values() if t == "AWS::CodeDeploy::Application"]
            if not dry_run:
                for application in apps:
                    for deployment in rb.stop_deployments(clients("codedeploy"), application):
                        console.print(f"stopped CodeDeploy deployment {deployment} (auto-rollback)")
        moves = rb.rollback(clients("lambda"), functions, dry_run=dry_run)
        if as_json:
            print(json.dumps([m.__dict__ for m in moves]))
        else:
            for move in moves:
                out.print(("[green]moved[/green]  " if move.moved else "       ") + move.describe())
            out.print(f"{sum(m.moved for m in moves)} of {len(moves)} function(s) rolled back")

    @app.command()
    def verify(
        stage: StageOpt,
        profile: ProfileOpt = None,
        endpoint: EndpointOpt = None,
        stack_name: Annotated[str | None, typer.Option(help="local: the stack's name")] = None,
        api_url: Annotated[str | None, typer.Option(help="The API's base URL (default: stack output / local stack)")] = None,
        smoke: Annotated[bool, typer.Option(help="Run a smoke run and require it to succeed")] = True,
        years: Annotated[list[int] | None, typer.Option("--years", "-y", help="Years of the smoke run")] = None,
        timeout: Annotated[float, typer.Option(help="Seconds to wait for the smoke run")] = 900.0,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Post-deployment checks: resources exist and are wired, a smoke run succeeds, the API is fresh."""
        from infra.deploy import deploy as deploy_mod
        from infra.deploy import nightly
        from infra.deploy import verify as v
        from infra.local.template import Stack, load

        if stage == "local":
            target = _local_target(endpoint, stack_name)
            stack = Stack(load(), name=target["stack_name"])
            verifier = v.Verifier(stack, _local_clients(target["endpoint"]), mode="local",
                                  api_url=api_url or target.get("http_url"), source_url=target.get("source_url"),
                                  local_sources=_template_sources(stack), log=console.print)
            config = None
        else:
            config = _stage(stage)
            clients = _aws_clients(config, profile)
            account = _check_account(config, clients, profile)
            cfn = clients("cloudformation")
            described = cfn.describe_stacks(StackName=config.stack_name)["Stacks"][0]
            outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
            parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
            stack = v.DeployedStack(load(), name=config.stack_name, parameters=parameters, account=account,
                                    region=config.region)
            physical = {k: p for k, (p, _t) in _stack_resources(cfn, config.stack_name).items()}
            verifier = v.Verifier(stack, clients, mode="aws", api_url=api_url or outputs.get("ApiUrl"),
                                  website_url=outputs.get("WebsiteUrl"), physical=physical, log=console.print)
        checks = verifier.run(smoke=smoke, years=years, timeout_s=timeout)
        passed = v.all_passed(checks)
        if config is not None and passed and smoke and config.nightly_schedule == nightly.AFTER_FIRST_RUN:
            console.print(nightly.after_smoke_run(config, clients("events"), clients("ssm"), verifier.name("NightlyRule")))
        if config is not None and passed and stage == "prod":
            console.print(deploy_mod.release_tag_hint(config, clients("ssm")))
        if as_json:
            print(json.dumps([c.__dict__ for c in checks]))
        out.print(f"{'[green]all checks passed[/green]' if passed else '[red]verification failed[/red]'} "
                  f"({sum(c.ok for c in checks)}/{len(checks)})")
        raise typer.Exit(0 if passed else 1)

    _register_nightly(app)


def _register_nightly(app: typer.Typer) -> None:
    @app.command()
    def nightly(
        action: Annotated[NightlyAction, typer.Argument(help="on, off (recorded; every later deploy keeps it) or status")],
        stage: StageOpt,
        profile: ProfileOpt = None,
    ) -> None:
        """Switch the stage's nightly runs on or off (durably), or show the switch and the rule."""
        from botocore.exceptions import ClientError

        from infra.deploy import nightly as nightly_mod

        if stage == "local":
            console.print("[red]the local stack fires the nightly rule only on demand: nothing to switch[/red]")
            raise typer.Exit(2)
        config = _stage(stage)
        try:
            if action != NightlyAction.status:
                nightly_mod.check_switchable(config)
        except nightly_mod.NightlyError as exc:
            console.print(f"[red]{exc}[/red]", soft_wrap=True)
            raise typer.Exit(2) from exc
        clients = _aws_clients(config, profile)
        _check_account(config, clients, profile)
        try:
            rule = _stack_resources(clients("cloudformation"), config.stack_name)["NightlyRule"][0]
        except (ClientError, KeyError) as exc:
            console.print(f"[red]no nightly rule: stack {config.stack_name} is not deployed in {config.region}[/red]")
            raise typer.Exit(1) from exc
        events, ssm = clients("events"), clients("ssm")
        if action == NightlyAction.status:
            for line in nightly_mod.status(config, events, ssm, rule).lines():
                out.print(line)
            return
        out.print(nightly_mod.switch(config, events, ssm, rule, action == NightlyAction.on))


def _template_sources(stack) -> dict[str, set[str]]:
    """Locally every SQS event source of the template is a poller (infra/local/provision.py)."""
    from infra.local.provision import Provisioned, _functions

    provisioned = Provisioned()
    provisioned.queues = {lid: f"/{stack.physical_name(lid)}" for lid in stack.of_type("AWS::SQS::Queue")}
    _functions(stack, None, provisioned)  # type: ignore[arg-type]
    return sources_of(provisioned.queue_sources)


def sources_of(queue_sources) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for source in queue_sources:
        out.setdefault(source.function, set()).add(source.queue_url.rsplit("/", 1)[-1])
    return out


def _rollback_template(config, clients, stage: str, profile: str | None) -> None:
    from infra.deploy import deploy as deploy_mod

    previous = deploy_mod.previous_template_url(config, clients("ssm"))
    if not previous:
        console.print("[red]no previous template recorded for this stage: see docs/deployment.md[/red]")
        raise typer.Exit(1)
    console.print(f"redeploying the previous template {previous}")
    try:
        result = deploy_mod.deploy(config, clients, Path(tempfile.mkdtemp()), template_url=previous,
                                   profile=profile, log=console.print)
    except deploy_mod.DeployError as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc
    out.print(f"stack {result.stack_name}: {result.status} (commit {result.commit}); "
              f"next: disclosures verify --stage {stage}")
    _print_aliases(config, result, profile)


def _print_aliases(config, result, profile: str | None) -> None:
    """The aliases the deploy rolled forward, or those a rollback left behind and what to do."""
    from infra.deploy import deploy as deploy_mod

    if result.rolled_forward:
        out.print(f"{len(result.rolled_forward)} live alias(es) rolled forward to the stack's versions")
    if result.behind:
        out.print(f"[yellow]{escape(deploy_mod.behind_message(config, result, profile))}[/yellow]")
