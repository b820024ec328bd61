"""`disclosures alerts`, `disclosures cost` and the AWS side of `disclosures dlq`: operating the stack.

Locally (the stack of `disclosures up`) alerts are read from the alerts inbox, a queue the local
runtime subscribes to the alerts topic; on AWS (`--aws-stack NAME`) from CloudWatch's alarm history.
`disclosures alerts subscribe/list/unsubscribe` manage who hears about new trades (the trade-alerts
topic and its filter policies): an email on AWS, the same local inbox locally.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from infra.cli.console import out

AwsStackOpt = Annotated[str | None, typer.Option("--aws-stack", help="A stack deployed on AWS (default: the local stack)")]
RegionOpt = Annotated[str | None, typer.Option(help="AWS region of --aws-stack")]


def aws_client(service: str, region: str | None = None):
    import boto3

    return boto3.session.Session(region_name=region).client(service)


def aws_dead_letter_queues(stack_name: str, region: str | None = None) -> dict[str, str]:
    """Source queue URL -> DLQ URL of a deployed stack (from its queues' redrive policies)."""
    cfn, sqs = aws_client("cloudformation", region), aws_client("sqs", region)
    urls = [r["PhysicalResourceId"] for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name)
            for r in page["StackResourceSummaries"] if r["ResourceType"] == "AWS::SQS::Queue"]
    out_map = {}
    for url in urls:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        if "RedrivePolicy" in attrs:
            dlq_name = json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[1]
            out_map[url] = sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
    return out_map


def dlq_replay_aws(stack_name: str, queue: str | None, region: str | None = None) -> list[tuple[str, str]]:
    """StartMessageMoveTask on every (or one) DLQ of a deployed stack; returns (name, task handle)."""
    from infra.ops import dlq

    sqs = aws_client("sqs", region)
    started = []
    for dlq_url in aws_dead_letter_queues(stack_name, region).values():
        name = dlq_url.rsplit("/", 1)[1]
        if queue and queue != name:
            continue
        arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        started.append((name, dlq.replay_aws(sqs, arn)))
    return started


def print_cost(run: dict[str, Any]) -> None:
    from services.ledger.cost import monthly_projection, run_cost

    estimate = run_cost(run)
    table = Table("service", "item", "quantity", "unit", "USD", title=f"estimated cost of this run: ${estimate.total_usd:.4f}")
    for line in estimate.lines:
        table.add_row(line.service, line.item, f"{line.quantity:,.6g}", line.unit, f"{line.usd:.6f}")
    out.print(table)
    print_projection(monthly_projection([run]), "such runs")


def print_projection(projection: dict[str, Any], runs: str) -> None:
    """The month's projection: its total, by service, and the free tier it uses."""
    out.print(f"projected month at {projection['runs_per_month']} {runs}, with fixed costs and the free tier: "
              f"[bold]${projection['total_usd']:.2f}[/bold]  "
              + "  ".join(f"{k}={v:.4f}" for k, v in projection["by_service"].items()))
    out.print("free tier used: " + "  ".join(f"{k}={v}%" for k, v in projection["free_tier_used"].items()))


def register(app: typer.Typer, attached: Callable[[], dict[str, Any]]) -> None:
    alerts_app = typer.Typer(invoke_without_command=True, no_args_is_help=False,
                             help="What fired (alarms, trade alerts); subscribe to new trades.")  # fmt: skip
    app.add_typer(alerts_app, name="alerts")

    @alerts_app.callback()
    def alerts(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        states: Annotated[bool, typer.Option(help="Also list every alarm's current state")] = True,
        clear: Annotated[bool, typer.Option(help="Local: empty the inbox after showing it")] = False,
        aws_stack: AwsStackOpt = None,
        region: RegionOpt = None,
    ) -> None:
        """What fired: the alarm notifications sent to the alerts topic, and the alarms' states."""
        if ctx.invoked_subcommand:
            return
        from infra.ops.alerts import alarm_history, alarm_states, read_inbox
        from services.common.aws import client

        if aws_stack:
            cloudwatch = aws_client("cloudwatch", region)
            fired, prefix = alarm_history(cloudwatch, f"{aws_stack}-"), f"{aws_stack}-"
        else:
            state = attached()
            prefix = f"{state['stack_name']}-"
            cloudwatch = client("cloudwatch")
            inbox = state.get("alerts_inbox_url")
            fired = read_inbox(client("sqs"), inbox, consume=clear) if inbox else []
        trades = [a for a in fired if a.get("trade")]
        fired = [a for a in fired if not a.get("trade")]
        current = alarm_states(cloudwatch, prefix) if states else []
        if as_json:
            print(json.dumps({"fired": [{k: v for k, v in a.items() if k != "message"} for a in fired], "alarms": current,
                              "trades": trades}, default=str))  # fmt: skip
            return
        if trades:
            trade_table = Table("when", "trade", "ticker", "member", "amount band", title=f"trade alerts ({len(trades)})")
            for a in trades:
                attrs = a["trade"]
                trade_table.add_row(str(a.get("at") or ""), a.get("subject") or "", attrs.get("ticker", ""),
                                    attrs.get("member", ""), attrs.get("amount_band", ""))  # fmt: skip
            out.print(trade_table)
        table = Table("when", "alarm", "state", "was", "reason", title=f"alerts ({len(fired)})")
        for a in fired:
            table.add_row(str(a.get("at", "")), a["alarm"] or "", a.get("state") or "", a.get("previous") or "",
                          (a.get("reason") or "")[:120])
        out.print(table)
        if current:
            states_table = Table("alarm", "state", "since", "notifies", title="alarms now")
            for a in current:
                colour = {"ALARM": "red", "OK": "green"}.get(a["state"], "yellow")
                states_table.add_row(a["alarm"], f"[{colour}]{a['state']}[/{colour}]", str(a.get("since") or ""),
                                     "yes" if a["notifies"] else "no")
            out.print(states_table)

    def trade_topic(aws_stack: str | None, region: str | None) -> tuple[Any, str, dict[str, Any] | None]:
        """SNS and the trades topic: the AWS stack's, or the local stack's (attached before its
        client is made, since attaching is what points the clients at the emulator)."""
        from infra.ops import trade_alerts
        from services.common.aws import client

        state = None if aws_stack else attached()
        sns = aws_client("sns", region) if aws_stack else client("sns")
        try:
            return sns, trade_alerts.topic_arn(sns, aws_stack or (state or {})["stack_name"]), state
        except LookupError as exc:
            out.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc

    @alerts_app.command("subscribe")
    def alerts_subscribe(
        email: Annotated[str | None, typer.Option(help="Where the alerts go (AWS; confirm from the mail). Locally: the alerts inbox")] = None,
        ticker: Annotated[list[str] | None, typer.Option(help="Trades of this ticker (repeatable)")] = None,
        member: Annotated[list[str] | None, typer.Option(help="Trades of this member: bioguide ID or member key (repeatable)")] = None,
        party: Annotated[list[str] | None, typer.Option(help="Democrat, Republican, Independent (repeatable)")] = None,
        state: Annotated[list[str] | None, typer.Option(help="Two-letter state (repeatable)")] = None,
        side: Annotated[list[str] | None, typer.Option(help="buy, sell, exchange (repeatable)")] = None,
        amount_band: Annotated[list[str] | None, typer.Option(help="A range as ticked, low-high in dollars, e.g. 1000001-5000000")] = None,
        min_amount: Annotated[float | None, typer.Option(help="Only trades whose range starts at or above this")] = None,
        aws_stack: AwsStackOpt = None,
        region: RegionOpt = None,
    ) -> None:
        """Hear about new trades: every publish announces its new trades; this subscription gets those matching."""
        from infra.ops import trade_alerts

        try:
            policy = trade_alerts.filter_policy(tickers=ticker, members=member, parties=party, states=state, sides=side,
                                                amount_bands=amount_band, min_amount=min_amount)  # fmt: skip
        except ValueError as exc:
            out.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        sns, topic, local = trade_topic(aws_stack, region)
        if aws_stack:
            if not email:
                out.print("[red]--email is required on AWS[/red]")
                raise typer.Exit(2)
            arn = trade_alerts.subscribe(sns, topic, protocol="email", endpoint=email, policy=policy)
            out.print(f"subscribed {email} ({arn}); confirm from the mail AWS sends")
        else:
            from services.common.aws import client

            assert local is not None  # no --aws-stack: the local stack's state
            inbox = local["alerts_inbox_url"]
            queue_arn = client("sqs").get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            arn = trade_alerts.subscribe(sns, topic, protocol="sqs", endpoint=queue_arn, policy=policy)
            out.print(f"subscribed the local alerts inbox{f' (for {email})' if email else ''}: {arn}; "
                      "`disclosures alerts` shows what arrives")  # fmt: skip
        print(arn)

    @alerts_app.command("list")
    def alerts_list(
        as_json: Annotated[bool, typer.Option("--json")] = False,
        aws_stack: AwsStackOpt = None,
        region: RegionOpt = None,
    ) -> None:
        """The trade-alert subscriptions and their filters."""
        from infra.ops import trade_alerts

        sns, topic, _ = trade_topic(aws_stack, region)
        subs = trade_alerts.subscriptions(sns, topic)
        if as_json:
            print(json.dumps(subs))
            return
        table = Table("id", "to", "filter", title=f"trade-alert subscriptions ({len(subs)})")
        for sub in subs:
            table.add_row(sub["subscription"].rsplit(":", 1)[-1], f"{sub['protocol']}: {sub['endpoint']}",
                          json.dumps(sub["filter"], sort_keys=True) if sub["filter"] else "(all)")  # fmt: skip
        out.print(table)

    @alerts_app.command("unsubscribe")
    def alerts_unsubscribe(
        subscription: Annotated[str, typer.Argument(help="Its id (as `alerts list` prints it) or ARN")],
        aws_stack: AwsStackOpt = None,
        region: RegionOpt = None,
    ) -> None:
        """Stop a trade-alert subscription."""
        from infra.ops import trade_alerts

        sns, topic, _ = trade_topic(aws_stack, region)
        try:
            out.print(f"unsubscribed {trade_alerts.unsubscribe(sns, topic, subscription)}")
        except LookupError as exc:
            out.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc

    @app.command()
    def cost(
        runs: Annotated[int, typer.Option(help="Average over this many recent runs")] = 10,
        runs_per_month: Annotated[int, typer.Option(help="Runs a month (the nightly rule: 30)")] = 30,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """The cost model: recent runs priced from the ledger, and the monthly projection."""
        from services.ledger.cost import monthly_projection, run_cost
        from services.ledger.ledger import FINAL_STATUSES
        from services.ledger.queries import list_runs

        attached()
        recent = [r for r in list_runs(runs) if r.get("status") in FINAL_STATUSES]
        projection = monthly_projection(recent, runs_per_month)
        per_run = [{"run_id": r["run_id"], "status": r.get("status"), "usd": run_cost(r).total_usd} for r in recent]
        if as_json:
            print(json.dumps({"runs": per_run, "projection": projection}))
            return
        table = Table("run", "status", "USD")
        for r in per_run:
            table.add_row(r["run_id"], r["status"] or "", f"{r['usd']:.4f}")
        out.print(table)
        print_projection(projection, f"runs like the last {len(per_run)}" if per_run else "runs (no run has ended yet)")
