"""verify's AWS-only checks (functions behind `live`, event sources on the alias) against moto:
the template provisioned into the session's moto server, functions and aliases created in it."""

from __future__ import annotations

import pytest

from infra.deploy import verify as v
from infra.deploy.rollback import template_function_names
from infra.local.provision import provision
from infra.local.template import Stack, load
from tests.unit.deploy.helpers import publish_release

pytestmark = pytest.mark.integration
NAME = "congress-disclosures-dev"


@pytest.fixture
def deployed(emulator):
    emulator.reset()
    stack = Stack(load(), name=NAME, endpoint=emulator.endpoint, parameters={"Stage": "dev"})
    provisioned = provision(stack, emulator)
    verifier = v.Verifier(v.DeployedStack(load(), name=NAME, parameters={"Stage": "dev"}), emulator.client, mode="aws")
    return stack, provisioned, verifier, emulator


def _map_event_sources(emulator, stack, provisioned):
    lam, sqs = emulator.client("lambda"), emulator.client("sqs")
    for source in provisioned.queue_sources:
        arn = sqs.get_queue_attributes(QueueUrl=source.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        alias = lam.get_alias(FunctionName=source.function, Name="live")["AliasArn"]
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=alias, BatchSize=source.batch_size)


def test_a_wired_stack_passes_every_resource_check(deployed):
    stack, provisioned, verifier, emulator = deployed
    missing = verifier.check_functions()
    assert not missing.ok and "ResourceNotFoundException" in missing.detail

    publish_release(emulator.client("lambda"), emulator.client("iam"), template_function_names(stack), releases=1)
    unmapped = verifier.check_functions()
    assert not unmapped.ok and "does not consume" in unmapped.detail

    _map_event_sources(emulator, stack, provisioned)
    checks = {c.name: c for c in verifier.run(smoke=False)}
    assert [n for n, c in checks.items() if not c.ok] == ["api"], checks  # no API URL without API Gateway
    assert "event sources mapped to the alias" in checks["functions"].detail
    assert "NightlyRule=DISABLED" in checks["rules"].detail
    assert checks["alarms"].ok and "LiveErrors" not in checks["alarms"].detail


def test_broken_wiring_is_reported(deployed):
    stack, provisioned, verifier, emulator = deployed
    sns, sqs, s3 = emulator.client("sns"), emulator.client("sqs"), emulator.client("s3")
    topic = stack.arn("PipelineEventsTopic")
    gold = next(s for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] if s["Endpoint"].endswith("-gold"))
    sns.unsubscribe(SubscriptionArn=gold["SubscriptionArn"])
    sqs.delete_queue(QueueUrl=provisioned.queues["PublishDLQ"])
    s3.put_bucket_notification_configuration(Bucket=stack.physical_name("BronzeBucket"), NotificationConfiguration={})
    emulator.client("cloudwatch").delete_alarms(AlarmNames=[f"{NAME}-fetch-live-errors"])
    emulator.client("events").remove_targets(Rule=stack.physical_name("NightlyRule"), Ids=["runs-queue"])

    assert "-gold is not subscribed" in verifier.check_subscriptions().detail
    assert "-publish-dlq missing" in verifier.check_queues().detail
    assert "does not notify" in verifier.check_buckets().detail
    assert f"{NAME}-fetch-live-errors" in verifier.check_alarms().detail
    assert "does not target" in verifier.check_rules().detail
    assert verifier.check_tables().ok
    emulator.client("dynamodb").update_table(TableName=f"{NAME}-ledger", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "runs"}}])
    assert f"{NAME}-ledger index runs is missing" in verifier.check_tables().detail
    emulator.client("dynamodb").delete_table(TableName=f"{NAME}-ledger")
    assert f"{NAME}-ledger missing" in verifier.check_tables().detail


def test_deployed_names_use_the_real_account_and_region():
    stack = v.DeployedStack(load(), name="s", account="111122223333", region="eu-west-1")
    assert stack.physical_name("BronzeBucket") == "s-bronze-111122223333"
    assert stack.arn("RunsQueue") == "arn:aws:sqs:eu-west-1:111122223333:s-runs"
