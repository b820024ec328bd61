"""Create the template's resources in the emulator through the AWS API.

moto's own CloudFormation drops bucket notifications, alarms and more, so each resource type
is created by the call AWS itself would make. Functions and their event sources are not
created in moto (it cannot run them): they become poller and scheduler configuration.

Provisioning is idempotent: on an emulator that kept its state (a persistent stack after `up`)
what exists is kept, with its data, and brought to what the template says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from infra.local.emulator import Emulator
from infra.local.template import Stack, function_handler

# The shortest local visibility timeout: a batch the handler is still working on must not come
# back to another worker (there is no heartbeat extending it, as there is none on AWS).
MIN_VISIBILITY_S = 5


@dataclass
class QueueSource:
    """An SQS event source mapping, as the poller runs it."""

    function: str
    handler: str
    queue_url: str
    batch_size: int
    max_concurrency: int
    service_name: str
    environment: dict[str, str] = field(default_factory=dict)  # the function's own (Globals + its Environment)
    image: bool = False  # a container-image function (PackageType: Image)
    batching_window_s: float = 0.0  # MaximumBatchingWindowInSeconds, in real seconds as on AWS
    timeout_s: int = 120  # the function's Timeout: what its context says is left (not enforced)


@dataclass
class ScheduleSource:
    name: str
    function: str
    expression: str
    state: str
    target_queue_url: str | None = None
    handler: str | None = None
    service_name: str | None = None
    payload: str = "{}"
    environment: dict[str, str] = field(default_factory=dict)  # of the target function
    timeout_s: int = 120  # of the target function


@dataclass
class Provisioned:
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> url
    dead_letter_queues: dict[str, str] = field(default_factory=dict)  # source url -> dlq url
    queue_sources: list[QueueSource] = field(default_factory=list)
    schedules: list[ScheduleSource] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> resolved properties
    dashboards: list[str] = field(default_factory=list)
    alerts_topic_arn: str | None = None
    alerts_inbox_url: str | None = None  # local only: a queue subscribed to the alerts topic


def provision(stack: Stack, emulator: Emulator, visibility_scale: float = 1.0) -> Provisioned:
    """Create the template's resources in the emulator. Queues' visibility timeouts are the
    template's divided by `visibility_scale` (the local clock's speed-up), never under
    MIN_VISIBILITY_S."""
    out = Provisioned()
    steps: list[Callable[[Stack, Emulator, Provisioned], None]] = [
        _tables,
        _topics,
        lambda s, e, o: _queues(s, e, o, visibility_scale),
        _subscriptions,
        _buckets,
        _rules,
        _functions,
        _alarms,
        _dashboards,
        _alerts_inbox,
    ]
    for step in steps:
        step(stack, emulator, out)
    out.environment = stack.function_environment()
    return out


def _props(resource: dict[str, Any], stack: Stack) -> dict[str, Any]:
    return stack.resolve(resource.get("Properties", {}))


def _tables(stack: Stack, emulator: Emulator, out: Provisioned) -> None:
    ddb = emulator.client("dynamodb")
    for logical_id, res in stack.of_type("AWS::DynamoDB::Table").items():
        props = _props(res, stack)
        indexes = {"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]} if props.get("GlobalSecondaryIndexes") else {}
        try:
            ddb.create_table(
                TableName=stack.physical_name(logical_id),
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
                **indexes,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":  # kept from before: its items too
                raise
        if props.get("TimeToLiveSpecification"):
            ddb.update_time_to_live(TableName=stack.physical_name(logical_id),
                                    TimeToLiveSpecification=props["TimeToLiveSpecification"])


def _topics(stack: Stack, emulator: Emulator, out: Provisioned) -> None:
    sns = emulator.client("sns")
    for logical_id in stack.of_type("AWS::SNS::Topic"):
        sns.create_topic(Name=stack.physical_name(logical_id))


def local_visibility(template_s: int, scale: float) -> int:
    return max(math.ceil(template_s / scale), MIN_VISIBILITY_S)


def _queues(stack: Stack, emulator: Emulator, out: Provisioned, visibility_scale: float) -> None:
    sqs = emulator.client("sqs")
    queues = stack.of_type("AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy must name an existing queue.
    ordered = sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {}))
    for logical_id in ordered:
        props = _props(queues[logical_id], stack)
        attributes: dict[str, str] = {}
        if "MessageRetentionPeriod" in props:
            attributes["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
        if "VisibilityTimeout" in props:
            attributes["VisibilityTimeout"] = str(local_visibility(int(props["VisibilityTimeout"]), visibility_scale))
        if "RedrivePolicy" in props:
            redrive = props["RedrivePolicy"]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": redrive["deadLetterTargetArn"], "maxReceiveCount": str(redrive["maxReceiveCount"])}
            )
        try:
            url = sqs.create_queue(QueueName=stack.physical_name(logical_id), Attributes=attributes)["QueueUrl"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
                raise
            url = sqs.get_queue_url(QueueName=stack.physical_name(logical_id))["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        out.queues[logical_id] = url
        if "RedrivePolicy" in props:
            dlq_name = props["RedrivePolicy"]["deadLetterTargetArn"].rsplit(":", 1)[1]
            out.dead_letter_queues[url] = sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]


def _subscriptions(stack: Stack, emulator: Emulator, out: Provisioned) -> None:
    sns = emulator.client("sns")
    for res in stack.of_type("AWS::SNS::Subscription").values():
        if not stack.enabled(res):
            continue
        props = _props(res, stack)
        attributes = {"RawMessageDelivery": str(props.get("RawMessageDelivery", False)).lower()}
        if "FilterPolicy" in props:
            attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
        arn = sns.subscribe(
            TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"], Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        # SNS answers an existing subscription as it is: bring its attributes to the template's.
        for name, value in attributes.items():
            sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName=name, AttributeValue=value)


def _buckets(stack: Stack, emulator: Emulator, out: Provisioned) -> None:
    s3 = emulator.client("s3")
    for logical_id, res in stack.of_type("AWS::S3::Bucket").items():
        props = _props(res, stack)
        name = stack.physical_name(logical_id)
        try:
            s3.create_bucket(Bucket=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        if props.get("VersioningConfiguration"):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if props.get("BucketEncryption"):
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]})
        if props.get("PublicAccessBlockConfiguration"):
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        queue_configs = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
        if queue_configs:
            s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {
                            "QueueArn": qc["Queue"],
                            "Events": [qc["Event"]],
                            **({"Filter": {"Key": {"FilterRules": qc["Filter"]["S3Key"]["Rules"]}}} if "Filter" in qc else {}),
                        }
                        for qc in queue_configs
                    ]
                },
            )


def _queue_url_for_arn(out: Provisioned, arn: str) -> str | None:
    name = arn.rsplit(":", 1)[1]
    return next((url for url in out.queues.values() if url.rsplit("/", 1)[1] == name), None)


def _rules(stack: Stack, emulator: Emulator, out: Provisioned) -> None:
    events = emulator.client("events")
    for logical_id, res in stack.of_type("AWS::Events::Rule").items():
        props = _props(res, stack)
        name = stack.physical_name(logical_id)
        events.put_rule(Name=name, ScheduleExpression=props["ScheduleExpression"], State=props.get("State", "ENABLED"))
        for target in props.get("Targets", []):
            events.put_targets(Rule=name, Targets=[{"Id": target["Id"], "Arn": target["Arn"], "Input": target.get("Input", "{}")}])
            out.schedules.append(
                ScheduleSource(
                    name=name,
                    function="",  # a rule that sends to a queue, not to a function
                    expression=props["ScheduleExpression"],
                    state=props.get("State", "ENABLED"),
                    target_queue_url=_queue_url_for_arn(out, target["Arn"]),
                    payload=target.get("Input", "{}"),
                )
            )


def _functions(stack: Stack, emulator: Emulator, out: Provisioned) -> None:
    for logical_id, res in stack.of_type("AWS::Serverless::Function").items():
        props = _props(res, stack)
        service = props.get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME", logical_id)
        for event in props.get("Events", {}).values():
            ev = event["Properties"]
            if event["Type"] == "SQS":
                out.queue_sources.append(
                    QueueSource(
                        function=stack.physical_name(logical_id),
                        handler=function_handler(props),
                        queue_url=_queue_url_for_arn(out, ev["Queue"]) or "",
                        batch_size=int(ev.get("BatchSize", 10)),
                        max_concurrency=int(ev.get("ScalingConfig", {}).get("MaximumConcurrency", 1)),
                        service_name=service,
                        environment=stack.environment_of(logical_id),
                        image=props.get("PackageType") == "Image",
                        batching_window_s=float(ev.get("MaximumBatchingWindowInSeconds", 0)),
                        timeout_s=stack.timeout_of(logical_id),
                    )
                )
            elif event["Type"] == "Schedule":
                out.schedules.append(
                    ScheduleSource(
                        name=f"{stack.physical_name(logical_id)}-schedule",
                        function=stack.physical_name(logical_id),
                        expression=ev["Schedule"],
                        state="ENABLED" if ev.get("Enabled", True) else "DISABLED",
                        handler=function_handler(props),
                        service_name=service,
                        environment=stack.environment_of(logical_id),
                        timeout_s=stack.timeout_of(logical_id),
                    )
                )


_ALARM_KEYS = ("AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
               "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
               "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData", "Metrics")


def _alarms(stack: Stack, emulator: Emulator, out: Provisioned) -> None:
    """Alarms exist in moto (describe_alarms shows them); the local alarm evaluator moves their state."""
    cloudwatch = emulator.client("cloudwatch")
    for logical_id, res in stack.of_type("AWS::CloudWatch::Alarm").items():
        if not stack.enabled(res):
            continue
        props = _props(res, stack)
        props.setdefault("AlarmName", f"{stack.name}-{logical_id}")
        request = {k: props[k] for k in _ALARM_KEYS if k in props}
        request["Threshold"] = float(request["Threshold"])
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if key in request:
                request[key] = int(request[key])
        for metric in request.get("Metrics", []):
            if "MetricStat" in metric:
                metric["MetricStat"]["Period"] = int(metric["MetricStat"]["Period"])
        cloudwatch.put_metric_alarm(**request)
        out.alarms[logical_id] = props


def _dashboards(stack: Stack, emulator: Emulator, out: Provisioned) -> None:
    cloudwatch = emulator.client("cloudwatch")
    for logical_id, res in stack.of_type("AWS::CloudWatch::Dashboard").items():
        props = _props(res, stack)
        name = props.get("DashboardName") or f"{stack.name}-{logical_id}"
        cloudwatch.put_dashboard(DashboardName=name, DashboardBody=props["DashboardBody"])
        out.dashboards.append(name)


def _alerts_inbox(stack: Stack, emulator: Emulator, out: Provisioned) -> None:
    """Locally nobody reads email: a queue subscribed to the alerts topic keeps what fired
    (`disclosures alerts` reads it). It is not in the template: AWS sends the alerts by email."""
    if "AlertsTopic" not in stack.resources:
        return
    out.alerts_topic_arn = stack.arn("AlertsTopic")
    sqs = emulator.client("sqs")
    url = sqs.create_queue(QueueName=f"{stack.physical_name('AlertsTopic')}-inbox",
                           Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    emulator.client("sns").subscribe(TopicArn=out.alerts_topic_arn, Protocol="sqs", Endpoint=arn)
    out.alerts_inbox_url = url
