"""`disclosures alerts subscribe/list/unsubscribe`: filter policies on the trade-alerts topic, locally
(the alerts inbox) and on AWS (email), and that a policy lets through exactly the trades it names."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from infra.ops import trade_alerts
from infra.ops.alerts import read_inbox
from services.publish_api import alerts as publish_alerts

STACK = "teststack"
TRADE = {"transaction_key": "k1", "member_key": "P000197", "bioguide_id": "P000197", "member_name": "Nancy Pelosi",
         "ticker": "NVDA", "party": "Democrat", "state_district": "CA11", "side": "buy", "amount_low": 1000001.0,
         "amount_high": 5000000.0, "asset_name": "NVIDIA Corporation", "owner": "SP", "transaction_date": "2025-01-14",
         "disclosure_date": "2025-01-17", "doc_id": "20026590", "source_url": None, "transaction_type": "P"}  # fmt: skip


@pytest.fixture
def aws(monkeypatch):
    for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from services.common import aws as common_aws

    with mock_aws():
        common_aws.reset_clients()
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name=f"{STACK}{trade_alerts.TOPIC_SUFFIX}")["TopicArn"]
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        yield {"sns": sns, "sqs": sqs, "topic": topic, "inbox": inbox}
        common_aws.reset_clients()


def cli(*args: str):
    from infra.cli.main import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_filter_policy():
    assert trade_alerts.filter_policy(tickers=["nvda", "AAPL"], parties=["republican"], min_amount=50001) == {
        "ticker": ["AAPL", "NVDA"], "party": ["Republican"], "amount_low": [{"numeric": [">=", 50001]}]}
    with pytest.raises(ValueError, match="say which trades"):
        trade_alerts.filter_policy()


def test_subscribe_list_unsubscribe_on_aws(aws):
    cli("alerts", "subscribe", "--ticker", "NVDA", "--email", "reader@example.org", "--aws-stack", STACK, "--region", "us-east-1")
    [sub] = json.loads(cli("alerts", "list", "--json", "--aws-stack", STACK, "--region", "us-east-1").splitlines()[-1])
    assert (sub["protocol"], sub["endpoint"], sub["filter"]) == ("email", "reader@example.org", {"ticker": ["NVDA"]})
    cli("alerts", "unsubscribe", sub["subscription"].rsplit(":", 1)[-1], "--aws-stack", STACK, "--region", "us-east-1")
    assert json.loads(cli("alerts", "list", "--json", "--aws-stack", STACK, "--region", "us-east-1").splitlines()[-1]) == []


def test_locally_the_inbox_gets_only_the_trades_subscribed_to(aws, monkeypatch):
    from infra.cli import local_stack

    monkeypatch.setattr(local_stack, "read_state", lambda: {"stack_name": STACK, "alerts_inbox_url": aws["inbox"]})
    # Attaching is what gives this process its region and endpoint: a client made before it fails.
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)  # nor a region from the developer's own config
    monkeypatch.setattr(local_stack, "attach", lambda state: monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1"))
    cli("alerts", "subscribe", "--ticker", "NVDA", "--member", "P000197")
    subs = trade_alerts.subscriptions(aws["sns"], aws["topic"])
    assert len(subs) == 1 and subs[0]["protocol"] == "sqs"
    assert json.loads(cli("alerts", "list", "--json").splitlines()[-1]) == subs
    other = {**TRADE, "transaction_key": "k2", "ticker": "AAPL"}
    assert publish_alerts.publish_trades(aws["sns"], aws["topic"], [TRADE, other]) == 2
    [alert] = read_inbox(aws["sqs"], aws["inbox"])
    assert alert["trade"]["ticker"] == "NVDA" and alert["trade"]["transaction_key"] == "k1"
    assert alert["subject"] == "Nancy Pelosi bought NVDA ($1,000,001–$5,000,000)"
    shown = cli("alerts", "--json", "--no-states")
    assert json.loads(shown.splitlines()[-1])["trades"][0]["trade"]["member"] == "P000197"
