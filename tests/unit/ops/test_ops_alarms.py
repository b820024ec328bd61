"""The template's alarms and the local evaluator that stands in for CloudWatch."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from infra.local.alarms import AlarmEvaluator, decide, queries_for
from infra.local.template import Stack, load
from infra.ops.alerts import read_inbox

STACK = Stack(load(), name="disclosures-test")
ALARMS = {k: STACK.resolve(v["Properties"]) for k, v in STACK.of_type("AWS::CloudWatch::Alarm").items()}
NOTIFYING = {k: a for k, a in ALARMS.items() if a.get("AlarmActions")}


def test_every_alarm_that_sends_an_alert_has_its_procedure_in_the_runbook():
    """An operator's email names the alarm: the runbook must say what to do about it."""
    from pathlib import Path

    runbook = (Path(__file__).parents[3] / "docs" / "runbook.md").read_text()
    names = {a["AlarmName"].removeprefix("disclosures-test-") for a in NOTIFYING.values()}
    missing = sorted(n for n in names if f"`{n}`" not in runbook and not (n.endswith("-duration") and "`*-duration`" in runbook))
    assert missing == []


def test_every_required_alarm_is_in_the_template_and_notifies_the_alerts_topic():
    names = {a["AlarmName"].removeprefix("disclosures-test-") for a in NOTIFYING.values()}
    assert {"run-failed", "estimated-charges", "queue-backed-up", "extraction-failures", "run-stuck", "stale-data",
            "dead-letters"} <= names
    topic = STACK.arn("AlertsTopic")
    assert all(a["AlarmActions"] == [topic] for a in NOTIFYING.values())
    assert ALARMS["EstimatedChargesAlarm"]["Threshold"] == 15
    assert ALARMS["StaleDataAlarm"]["Threshold"] == 48 and ALARMS["StaleDataAlarm"]["Period"] == 3600
    backed_up = ALARMS["QueueBackedUpAlarm"]
    assert backed_up["Threshold"] == 1000 and backed_up["EvaluationPeriods"] * 300 == 30 * 60


def test_a_duration_alarm_per_function_at_80_percent_of_its_timeout():
    default = STACK.template["Globals"]["Function"]["Timeout"]
    functions = STACK.of_type("AWS::Serverless::Function")
    durations = {a["Dimensions"][0]["Value"]: a["Threshold"] for a in NOTIFYING.values() if a.get("MetricName") == "Duration"}
    assert len(durations) == len(functions)
    for logical_id, fn in functions.items():
        timeout = fn["Properties"].get("Timeout", default)
        assert durations[STACK.physical_name(logical_id)] == pytest.approx(0.8 * timeout * 1000), logical_id


def test_the_local_evaluator_understands_every_alarm():
    for alarm in ALARMS.values():
        queries, combine = queries_for(alarm, 60)
        assert queries and all(q["MetricStat"]["Period"] >= 1 for q in queries)
    assert queries_for(ALARMS["QueueBackedUpAlarm"], 60)[1] == "MAX"
    assert queries_for(ALARMS["RunFailedAlarm"], 60)[0][0]["MetricStat"]["Period"] == 5


@pytest.mark.parametrize(("points", "treat", "current", "expected"), [
    ([1.0], "notBreaching", "OK", "ALARM"),
    ([None], "notBreaching", "ALARM", "OK"),
    ([None], "missing", "INSUFFICIENT_DATA", "INSUFFICIENT_DATA"),
    ([None], "breaching", "OK", "ALARM"),
    ([0.0], "missing", "ALARM", "OK"),
])
def test_decide(points, treat, current, expected):
    alarm = {"EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": treat}
    assert decide(alarm, points, current)[0] == expected


def test_datapoints_to_alarm():
    alarm = {"EvaluationPeriods": 6, "DatapointsToAlarm": 6, "Threshold": 1000, "ComparisonOperator": "GreaterThanThreshold",
             "TreatMissingData": "notBreaching"}
    assert decide(alarm, [1001.0] * 5 + [None], "OK")[0] == "OK"
    assert decide(alarm, [1001.0] * 6, "OK")[0] == "ALARM"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")


def _inbox(aws, topic_arn: str) -> str:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def test_evaluator_notifies_once_per_change_into_alarm(aws):
    topic = aws("sns").create_topic(Name="disclosures-test-alerts")["TopicArn"]
    inbox = _inbox(aws, topic)
    alarm = {**ALARMS["RunFailedAlarm"], "AlarmActions": [topic]}
    cloudwatch = aws("cloudwatch")
    cloudwatch.put_metric_alarm(**{k: v for k, v in alarm.items() if k != "AlarmDescription"})
    evaluator = AlarmEvaluator({"RunFailedAlarm": alarm}, aws, threading.Event(), time_scale=60)

    assert evaluator.evaluate() == []  # no data, notBreaching: OK, nothing sent
    cloudwatch.put_metric_data(Namespace="CongressDisclosures", MetricData=[
        {"MetricName": "RunsFailed", "Dimensions": [{"Name": "service", "Value": "ledger"}], "Value": 1, "Unit": "Count"}])
    sent = evaluator.evaluate()
    assert [m["NewStateValue"] for m in sent] == ["ALARM"] and sent[0]["OldStateValue"] == "OK"
    assert evaluator.evaluate() == []  # still in ALARM: no second notification
    alerts = read_inbox(aws("sqs"), inbox)
    assert [a["alarm"] for a in alerts] == ["disclosures-test-run-failed"]
    assert read_inbox(aws("sqs"), inbox) == alerts  # repeatable
    assert cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])["MetricAlarms"][0]["StateValue"] == "ALARM"
    # Past the (compressed) period the datum leaves the window: back to OK.
    later = datetime.now(UTC) + timedelta(seconds=10)
    assert evaluator.evaluate(now=later) == [] and evaluator.states[alarm["AlarmName"]].state == "OK"


def test_queue_alarm_from_sampled_queue_depth(aws):
    """The evaluator publishes AWS/SQS depth itself (moto never does) and folds the queues with MAX."""
    topic = aws("sns").create_topic(Name="alerts")["TopicArn"]
    alarm = {**ALARMS["QueueBackedUpAlarm"], "AlarmActions": [topic], "EvaluationPeriods": 1, "DatapointsToAlarm": 1,
             "Threshold": 9}  # 1000 messages make the in-process emulator slow
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="disclosures-test-fetch")["QueueUrl"]
    evaluator = AlarmEvaluator({"Q": alarm}, aws, threading.Event(), time_scale=60, queue_urls={"disclosures-test-fetch": url})
    assert evaluator._watched_queues() >= {"disclosures-test-fetch", "disclosures-test-extract"}
    evaluator.tick()
    assert evaluator.states[alarm["AlarmName"]].state == "OK"
    for _ in range(1):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "{}"} for i in range(10)])
    evaluator.tick()
    assert evaluator.fired_names() == [alarm["AlarmName"]]
    assert json.loads(json.dumps(evaluator.fired[0]))["Trigger"]["Threshold"] == 9.0


def test_every_alarm_is_read_in_one_request_per_window(aws):
    """Alarms that share a window share one GetMetricData; each is still decided on its own metric
    (here, the template's alarms: only the run-failed one sees a breaching datum)."""
    cloudwatch = aws("cloudwatch")
    calls: list[dict] = []
    cloudwatch.meta.events.register("provide-client-params.cloudwatch.GetMetricData",
                                    lambda params, **_: calls.append(params))
    silent = {key: {**alarm, "AlarmActions": []} for key, alarm in ALARMS.items()}
    evaluator = AlarmEvaluator(silent, lambda service: cloudwatch if service == "cloudwatch" else aws(service),
                               threading.Event(), time_scale=60, only_with_actions=False)
    cloudwatch.put_metric_data(Namespace="CongressDisclosures", MetricData=[
        {"MetricName": "RunsFailed", "Dimensions": [{"Name": "service", "Value": "ledger"}], "Value": 1, "Unit": "Count"}])
    now = datetime.now(UTC)
    windows = {evaluator.window(alarm, now)[:2] for alarm in ALARMS.values()}
    evaluator.evaluate(now=now)
    assert len(calls) == len(windows) < len(ALARMS)
    assert sum(len(call["MetricDataQueries"]) for call in calls) == sum(
        len(queries_for(alarm, 60)[0]) for alarm in ALARMS.values())
    alarming = {name for name, state in evaluator.states.items() if state.state == "ALARM"}
    assert alarming == {ALARMS["RunFailedAlarm"]["AlarmName"]}
