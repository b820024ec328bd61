"""Subscriptions to the trade-alerts topic: who hears about which new trades.

`publish_api` announces every new trade on the topic with message attributes
(`services/publish_api/alerts.py`); a subscription's SNS filter policy picks the trades it wants.
On AWS a subscription mails an address (the owner confirms it from the mail); locally nobody
reads mail, so the local alerts inbox queue (the one `disclosures alerts` reads) is subscribed.
"""

from __future__ import annotations

import json
from typing import Any

TOPIC_SUFFIX = "-trade-alerts"


def filter_policy(*, tickers: list[str] | None = None, members: list[str] | None = None, parties: list[str] | None = None,
                  states: list[str] | None = None, sides: list[str] | None = None, amount_bands: list[str] | None = None,
                  min_amount: float | None = None) -> dict[str, Any]:  # fmt: skip
    """An SNS filter policy on the alert attributes; every given condition must hold, any value of each."""
    policy: dict[str, Any] = {}
    for name, values, norm in (("ticker", tickers, str.upper), ("member", members, str.strip), ("party", parties, str.title),
                               ("state", states, str.upper), ("side", sides, str.lower), ("amount_band", amount_bands, str.strip)):  # fmt: skip
        if values:
            policy[name] = sorted({norm(v) for v in values})
    if min_amount is not None:
        policy["amount_low"] = [{"numeric": [">=", min_amount]}]
    if not policy:
        raise ValueError("say which trades: --ticker, --member, --party, --state, --side, --amount-band or --min-amount")
    return policy


def topic_arn(sns: Any, stack_name: str) -> str:
    """The stack's trade-alerts topic (named `<stack>-trade-alerts` by the template)."""
    wanted = f"{stack_name}{TOPIC_SUFFIX}"
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == wanted:
                return topic["TopicArn"]
    raise LookupError(f"no topic {wanted}: is the stack deployed with trade alerts?")


def subscribe(sns: Any, topic: str, *, protocol: str, endpoint: str, policy: dict[str, Any]) -> str:
    """Subscribe `endpoint`; returns the subscription ARN ("pending confirmation" for an email)."""
    attributes = {"FilterPolicy": json.dumps(policy, sort_keys=True)}
    if protocol == "sqs":
        attributes["RawMessageDelivery"] = "false"  # the inbox keeps SNS's envelope: subject and attributes
    response = sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint, Attributes=attributes,
                             ReturnSubscriptionArn=True)  # fmt: skip
    return response["SubscriptionArn"]


def subscriptions(sns: Any, topic: str) -> list[dict[str, Any]]:
    out = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
        for sub in page.get("Subscriptions", []):
            arn = sub["SubscriptionArn"]
            policy = None
            if arn.startswith("arn:"):  # a pending email subscription has no attributes yet
                policy = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"].get("FilterPolicy")
            out.append({"subscription": arn, "protocol": sub["Protocol"], "endpoint": sub["Endpoint"],
                        "filter": json.loads(policy) if policy else None})  # fmt: skip
    return out


def unsubscribe(sns: Any, topic: str, subscription: str) -> str:
    """Remove a subscription, given its ARN or the id it ends with (as `alerts list` prints it)."""
    for sub in subscriptions(sns, topic):
        if subscription in (sub["subscription"], sub["subscription"].rsplit(":", 1)[-1]):
            sns.unsubscribe(SubscriptionArn=sub["subscription"])
            return sub["subscription"]
    raise LookupError(f"no subscription {subscription} on {topic}")
