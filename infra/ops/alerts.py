"""Alerts: what CloudWatch sends to the alerts topic when an alarm fires, and how to read it back.

On AWS the alerts topic mails the operator and `describe_alarm_history` keeps what fired; the
local runtime's alarm evaluator publishes the same JSON to the same topic, and a local-only queue
subscribed to it (the alerts inbox) keeps what fired for `disclosures alerts`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from services.common.queues import read_each_once

REGION_NAMES = {"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-2": "US West (Oregon)",
                "eu-west-1": "Europe (Ireland)", "eu-central-1": "Europe (Frankfurt)"}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def notification(alarm: dict[str, Any], *, old_state: str, new_state: str, reason: str, account: str, region: str,
                 when: datetime | None = None) -> tuple[str, dict[str, Any]]:
    """(Subject, Message) as CloudWatch publishes them to SNS for a state change of `alarm`
    (the alarm's properties as in the template, resolved)."""
    when = when or datetime.now(UTC)
    name = alarm["AlarmName"]
    region_name = REGION_NAMES.get(region, region)
    trigger: dict[str, Any] = {
        "Period": int(alarm.get("Period", 0)),
        "EvaluationPeriods": int(alarm["EvaluationPeriods"]),
        "DatapointsToAlarm": int(alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"])),
        "ComparisonOperator": alarm["ComparisonOperator"],
        "Threshold": float(alarm["Threshold"]),
        "TreatMissingData": alarm.get("TreatMissingData", "missing"),
        "EvaluateLowSampleCountPercentile": "",
    }
    if "Metrics" in alarm:
        trigger["Metrics"] = alarm["Metrics"]
    else:
        trigger.update({
            "MetricName": alarm["MetricName"], "Namespace": alarm["Namespace"], "StatisticType": "Statistic",
            "Statistic": str(alarm.get("Statistic", "")).upper(), "Unit": alarm.get("Unit"),
            "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions", [])],
        })
    message = {
        "AlarmName": name,
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": _stamp(when),
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": _stamp(when),
        "Region": region_name,
        "AlarmArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
        "OldStateValue": old_state,
        "OKActions": alarm.get("OKActions", []),
        "AlarmActions": alarm.get("AlarmActions", []),
        "InsufficientDataActions": alarm.get("InsufficientDataActions", []),
        "Trigger": trigger,
    }
    subject = f'{new_state}: "{name}" in {region_name}'
    return subject[:100], message


def _alert_from_sns(body: str) -> dict[str, Any]:
    envelope = json.loads(body)
    attributes = envelope.get("MessageAttributes") or {}
    if "transaction_key" in attributes:  # a trade alert (services/publish_api/alerts.py), not an alarm
        return {"alarm": None, "at": envelope.get("Timestamp"), "subject": envelope.get("Subject"),
                "message": envelope.get("Message"), "trade": {k: v.get("Value") for k, v in attributes.items()}}
    try:
        message = json.loads(envelope.get("Message", "{}"))
    except json.JSONDecodeError:
        message = {"raw": envelope.get("Message")}
    return {
        "alarm": message.get("AlarmName"),
        "state": message.get("NewStateValue"),
        "previous": message.get("OldStateValue"),
        "at": message.get("StateChangeTime") or envelope.get("Timestamp"),
        "reason": message.get("NewStateReason"),
        "description": message.get("AlarmDescription"),
        "subject": envelope.get("Subject"),
        "message": message,
    }


def read_inbox(sqs, inbox_url: str, consume: bool = False, limit: int = 1000) -> list[dict[str, Any]]:
    """Every alert in the inbox, oldest first. Without `consume` the messages are made visible
    again at once, so reading is repeatable."""
    messages, _ = read_each_once(sqs, inbox_url, limit, ["SentTimestamp"])
    if consume:
        # A receipt handle stays valid after its message was made visible again, until it is received anew.
        for start in range(0, len(messages), 10):
            sqs.delete_message_batch(QueueUrl=inbox_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages[start:start + 10])])
    alerts = [{**_alert_from_sns(m["Body"]), "sent": int(m["Attributes"].get("SentTimestamp", 0))} for m in messages]
    return sorted(alerts, key=lambda a: (a["sent"], a["at"] or ""))


def alarm_states(cloudwatch, prefix: str) -> list[dict[str, Any]]:
    """Current state of the stack's alarms (those whose name starts with `prefix`)."""
    out = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix):
        for alarm in page.get("MetricAlarms", []):
            updated = alarm.get("StateUpdatedTimestamp")
            out.append({"alarm": alarm["AlarmName"], "state": alarm.get("StateValue"),
                        "since": updated.isoformat() if hasattr(updated, "isoformat") else updated,
                        "reason": alarm.get("StateReason"), "notifies": bool(alarm.get("AlarmActions"))})
    return sorted(out, key=lambda a: a["alarm"])


def alarm_history(cloudwatch, prefix: str, limit: int = 100) -> list[dict[str, Any]]:
    """On AWS: the state changes into ALARM of the stack's alarms, newest first (what was mailed)."""
    out = []
    paginator = cloudwatch.get_paginator("describe_alarm_history")
    for page in paginator.paginate(HistoryItemType="StateUpdate", ScanBy="TimestampDescending"):
        for item in page.get("AlarmHistoryItems", []):
            if not item["AlarmName"].startswith(prefix):
                continue
            data = json.loads(item.get("HistoryData") or "{}")
            if data.get("newState", {}).get("stateValue") != "ALARM":
                continue
            out.append({"alarm": item["AlarmName"], "state": "ALARM", "previous": data.get("oldState", {}).get("stateValue"),
                        "at": item["Timestamp"].isoformat(), "reason": data.get("newState", {}).get("stateReason"),
                        "description": item.get("HistorySummary")})
            if len(out) >= limit:
                return out
    return out
